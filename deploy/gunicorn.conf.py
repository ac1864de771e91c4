"""gunicorn settings for the blog behind nginx (deploy/nginx/blog.conf).

    gunicorn -c /etc/blog/gunicorn.conf.py blog.wsgi:app   (deploy/blog.service runs this)

Settings on the command line win over this file (the tests pass ``--bind``).

Why nginx must stay in front of these workers: a worker serves one request per thread from its
first byte to its last. Without a proxy, three clients sending one byte a second stalled the home
page for 12 s with sync workers. nginx reads each request body whole before passing it on
(``proxy_request_buffering on``) and takes the response as fast as gunicorn writes it
(``proxy_buffering on``), so slow clients cost nginx connections, not workers; that is why no
async worker class is needed here. Never expose this port to the network directly.
"""

import os

# CHANGE: where nginx's upstream points. Several hosts: the host's private address.
bind = "127.0.0.1:8000"

# Threads let a worker overlap database and Redis waits; one process per core keeps Python busy.
worker_class = "gthread"
workers = max(2, len(os.sched_getaffinity(0)))
threads = 4

# nginx's proxy_read_timeout is 60 s: a request never outlives both.
timeout = 60
graceful_timeout = 30
# nginx keeps idle upstream connections open (``keepalive`` in its upstream block).
keepalive = 30

# Only nginx talks to gunicorn. The app reads X-Forwarded-For/-Proto/-Host itself
# (BLOG_PROXY_COUNT=1, werkzeug's ProxyFix); gunicorn trusts nginx's scheme headers too.
# CHANGE with several hosts: nginx's address as these workers see it.
forwarded_allow_ips = "127.0.0.1"

# nginx already drops header names with underscores; gunicorn drops them as well.
header_map = "drop"

# One line per request is nginx's access log (and the app's own log); gunicorn keeps quiet.
accesslog = None
errorlog = "-"
loglevel = "warning"

# A new release is picked up by `systemctl reload blog` (HUP: new workers, then the old ones leave).
preload_app = False
