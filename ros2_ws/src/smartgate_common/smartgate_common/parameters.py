"""Declare parameters with descriptions; turn a missing or ill-typed one into a clear ConfigError."""
from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, ParameterUninitializedException
from rclpy.parameter import Parameter

from smartgate_core.params import described_fields

REQUIRED_TYPES = {str: Parameter.Type.STRING, float: Parameter.Type.DOUBLE, int: Parameter.Type.INTEGER,
                  bool: Parameter.Type.BOOL}


class ConfigError(RuntimeError):
    """A node cannot start with the configuration it was given."""


def declare(node, name, default=None, description='', required_type=None):
    """Declare one read-only parameter and return its value.

    With `required_type` (str, float, int, bool) and no default, the parameter must come from a
    parameter file or the command line, or ConfigError names it.
    """
    descriptor = ParameterDescriptor(description=description, read_only=True)
    try:
        if required_type is not None:
            node.declare_parameter(name, REQUIRED_TYPES[required_type], descriptor)
            return node.get_parameter(name).value
        value = node.declare_parameter(name, list(default) if isinstance(default, tuple) else default,
                                       descriptor).value
        return tuple(value) if isinstance(default, tuple) else value
    except ParameterUninitializedException:
        raise ConfigError(f"{node.get_fully_qualified_name()}: required parameter '{name}' is not set "
                          f'({description})') from None
    except InvalidParameterTypeException as exc:
        hint = ' (write floats with a decimal point, e.g. 1.0)' if "of type 'INTEGER'" in str(exc) else ''
        raise ConfigError(f"{node.get_fully_qualified_name()}: parameter '{name}' has the wrong type: "
                          f'{exc}{hint}') from None


def declare_dataclass(node, prefix, cls):
    """Declare `prefix.<field>` for every field of a core parameter dataclass; return an instance."""
    values = {name: declare(node, f'{prefix}.{name}', default, description)
              for name, default, description in described_fields(cls)}
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f'{node.get_fully_qualified_name()}: {prefix}: {exc}') from None


def declare_list(node, name, description, required=True):
    """Declare one read-only string-array parameter and return it as a list; without a value it is a
    ConfigError naming it when required, else []."""
    descriptor = ParameterDescriptor(description=description, read_only=True)
    try:
        node.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
        return list(node.get_parameter(name).value)
    except ParameterUninitializedException:
        if required:
            raise ConfigError(f"{node.get_fully_qualified_name()}: required parameter '{name}' is not set "
                              f'({description})') from None
        return []
    except InvalidParameterTypeException as exc:
        raise ConfigError(f"{node.get_fully_qualified_name()}: parameter '{name}' must be a list of strings: "
                          f'{exc}') from None
