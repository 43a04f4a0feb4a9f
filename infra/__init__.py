"""Local infrastructure: the Apache Kafka broker as a process, fetched with Maven."""
