"""HTTP API root (django-ninja): mounts each capability's router under /api/v1."""
