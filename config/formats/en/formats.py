"""Dates and times as the console shows them: ISO order, seconds, and the zone (UTC), the
same on list columns, detail pages, audit events and check runs."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
