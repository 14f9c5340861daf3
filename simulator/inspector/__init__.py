"""The inspector: a live web page of the office, its calls and every webhook (``GET /_sim/ui``)."""
