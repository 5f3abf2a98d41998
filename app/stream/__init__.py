"""The live change stream: Server-Sent Events read from the outbox."""
