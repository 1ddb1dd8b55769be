"""Channel clients: one adapter per provider, all behind `ChannelClient.send` (see base.py)."""
