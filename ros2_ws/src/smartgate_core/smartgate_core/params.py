"""Tunable parameters carry their description with them, so ROS nodes can declare them as is."""
from dataclasses import field, fields


def doc(default, description):
    """A dataclass field with a default and a one-line description (units in brackets)."""
    return field(default=default, metadata={'description': description})


def described_fields(cls):
    """(name, default, description) of each field of a parameter dataclass."""
    return [(f.name, f.default, f.metadata.get('description', '')) for f in fields(cls)]
