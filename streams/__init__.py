"""The Faust shell: Kafka in and out, around the functional core in ``radar``."""
