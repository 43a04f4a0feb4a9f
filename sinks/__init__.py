"""Where results go: ClickHouse tables and Prometheus metrics."""
