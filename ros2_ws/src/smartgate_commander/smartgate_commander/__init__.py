"""RouteCommander: a Python API, shaped like nav2_simple_commander's BasicNavigator, over FollowRoute."""
from .commander import RouteCommander, TaskResult

__all__ = ['RouteCommander', 'TaskResult']
