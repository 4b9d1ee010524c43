"""
Working out what each page needs: the asset graph that follows a page's
stylesheets, fonts, images and module chains (L{graph}), read from the
file store's bytes (L{files}), and the policy of what to announce and when
to send 103 Early Hints (L{policy}).

It may import L{h2site.refs}, L{h2site.files} and L{h2site.errors}.
"""
