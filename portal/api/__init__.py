"""The REST API v1: personal-access-token or session authentication, RFC 9457
problem details for every error, and an OpenAPI 3 schema."""
