"""Kernel: clock, configuration, executor, scheduler, logging — shared by every capability."""
