"""The admin console under /console: server-rendered pages over ``manage`` (the same
functions as the admin API), for admins signed in with a second factor."""
