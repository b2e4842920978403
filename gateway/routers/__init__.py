"""HTTP routes of the gateway's own endpoints (the proxy is in gateway.proxy)."""
