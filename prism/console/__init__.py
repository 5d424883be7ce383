"""The Prism console: a web page served by the Functions app itself, and the small
JSON views it needs (counters, lifecycle). Plain HTML/CSS/JS from ``static/``: no build
step, nothing fetched from elsewhere at run time."""
