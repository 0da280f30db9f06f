# The kernels that make test starts (nbval, the manual's build) talk to their client on loopback: the
# "Kernel is running over TCP without encryption" warning each one logs is noise there, so kernels log
# errors only. Used through IPYTHONDIR (see the Makefile); a user's own IPython profile is untouched.
c.IPKernelApp.log_level = "ERROR"  # noqa: F821 (``c`` is the config object IPython provides)
