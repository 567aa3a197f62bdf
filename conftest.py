"""Every test, under kyogyo/ and tests/, gets the shared fixtures."""

pytest_plugins = ["kyogyo.testing", "kyogyo.web.browser"]
