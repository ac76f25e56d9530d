"""HTTP routers: decisions (partners), management (administrator), operations."""
