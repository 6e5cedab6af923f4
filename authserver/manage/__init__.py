"""What an administrator does, once: the admin API (``admin/``) and the console
(``console/``) both call these functions, so every rule and every audit record of an
administrative change has one implementation. Each function takes an ``AdminCall`` (the
acting admin, the unit of work, the services) and never sees an HTTP request."""
