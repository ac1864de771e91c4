"""The benchmark: the blog under gunicorn next to a bare Flask route, driven by wrk.

Run it with ``python -m bench`` (or ``make bench``); ``python -m bench --help`` lists the options.
Not part of the test suite.
"""
