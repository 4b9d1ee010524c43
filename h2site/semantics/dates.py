# -*- test-case-name: tests.unit.semantics.test_conditional -*-
"""
HTTP dates (RFC 9110 section 5.6.7): reading all three forms a client may
send, and writing the one a server sends.
"""

from __future__ import annotations

import calendar
import re
import time

__all__ = ["MONTHS", "formatHTTPDate", "parseHTTPDate"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


_LONG_DAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


#: Month abbreviations of HTTP dates (and of the Combined Log Format).
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


_TIME = r"(\d\d):(\d\d):(\d\d)"


_MONTH = "(" + "|".join(MONTHS) + ")"


_IMF = re.compile(
    r"(?:" + "|".join(_DAYS) + r"), (\d\d) " + _MONTH + r" (\d{4}) " + _TIME + " GMT"
)


_RFC850 = re.compile(
    r"(?:"
    + "|".join(_LONG_DAYS)
    + r"), (\d\d)-"
    + _MONTH
    + r"-(\d\d) "
    + _TIME
    + " GMT"
)


_ASCTIME = re.compile(
    r"(?:" + "|".join(_DAYS) + r") " + _MONTH + r" ( \d|\d\d) " + _TIME + r" (\d{4})"
)


def _timestamp(
    year: int, month: str, day: int, hour: int, minute: int, second: int
) -> int | None:
    if not (hour < 24 and minute < 60 and second < 61):
        return None
    monthNumber = MONTHS.index(month) + 1
    if not 1 <= day <= calendar.monthrange(year, monthNumber)[1]:
        return None
    return calendar.timegm((year, monthNumber, day, hour, minute, min(second, 59)))


def parseHTTPDate(value: str, now: float) -> int | None:
    """
    Parse an HTTP-date in any of the three formats a recipient must accept
    (RFC 9110 section 5.6.7): IMF-fixdate, the obsolete RFC 850 form, and
    asctime.

    @param now: the current time, to place an RFC 850 two-digit year: one
        that would be more than 50 years ahead is taken as the most recent
        past year with those digits.
    @return: seconds since the epoch, or L{None} if C{value} is not an
        HTTP-date (so the caller ignores the field).
    """
    value = value.strip(" \t")
    if m := _IMF.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
        return _timestamp(int(year), month, int(day), int(hh), int(mm), int(ss))
    if m := _RFC850.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        thisYear = time.gmtime(now).tm_year
        year = thisYear - thisYear % 100 + int(yy)
        if year > thisYear + 50:
            year -= 100
        return _timestamp(year, month, int(day), int(hh), int(mm), int(ss))
    if m := _ASCTIME.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
        return _timestamp(int(year), month, int(day), int(hh), int(mm), int(ss))
    return None


def formatHTTPDate(seconds: float) -> str:
    """
    The IMF-fixdate form of a time, e.g. C{Sun, 06 Nov 1994 08:49:37 GMT}.
    """
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} "
        f"{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
