"""Record topics of a run to MCAP the way rosbag2 does: serialized CDR with ros2msg schemas.

Subscriptions are raw (no deserialization), so recording costs little; the schema text is the
message's .msg file followed by its dependencies, as rosbag2 writes it, so ROS 2 tools
(ros2 bag, Foxglove, mcap-ros2-support) can decode the file.
"""
from __future__ import annotations

import importlib
import re
import threading
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from mcap.writer import Writer

PRIMITIVES = {'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32',
              'uint32', 'int64', 'uint64', 'string', 'wstring'}
SEPARATOR = '=' * 80


def _msg_file(type_name):
    pkg, _, name = type_name.split('/')
    return Path(get_package_share_directory(pkg)) / 'msg' / f'{name}.msg'


def _dependencies(type_name, text):
    pkg = type_name.split('/')[0]
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        field_type = re.sub(r'(\[.*\]|<=\d+)$', '', line.split()[0])
        field_type = re.sub(r'<=\d+$', '', field_type)
        if field_type in PRIMITIVES:
            continue
        if field_type == 'Header':
            yield 'std_msgs/msg/Header'
        elif '/' in field_type:
            dep_pkg, dep_name = field_type.split('/')[0], field_type.split('/')[-1]
            yield f'{dep_pkg}/msg/{dep_name}'
        else:
            yield f'{pkg}/msg/{field_type}'


def message_class(type_name):
    """The Python class of `pkg/msg/Type`."""
    pkg, sub, name = type_name.split('/')
    return getattr(importlib.import_module(f'{pkg}.{sub}'), name)


def message_definition(type_name) -> str:
    """rosbag2-style ros2msg definition text of `pkg/msg/Type` with all nested types."""
    main = _msg_file(type_name).read_text()
    parts, seen, queue = [main], {type_name}, list(_dependencies(type_name, main))
    while queue:
        dep = queue.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        text = _msg_file(dep).read_text()
        pkg, _, name = dep.split('/')
        parts.append(f'{SEPARATOR}\nMSG: {pkg}/{name}\n{text}')
        queue.extend(_dependencies(dep, text))
    return '\n'.join(parts)


class McapRecorder:
    """Raw subscriptions of `topics` ({topic: 'pkg/msg/Type'}) on `node`, written to `path`."""

    def __init__(self, node, path, topics, qos_by_topic):
        self._file = open(path, 'wb')
        self._writer = Writer(self._file)
        self._writer.start(profile='ros2', library='smartgate')
        self._lock = threading.Lock()
        self._closed = False
        self.counts = {}
        self._node = node
        for topic, type_name in topics.items():
            schema = self._writer.register_schema(name=type_name, encoding='ros2msg',
                                                  data=message_definition(type_name).encode())
            channel = self._writer.register_channel(topic=topic, message_encoding='cdr', schema_id=schema)
            self.counts[topic] = 0
            node.create_subscription(message_class(type_name), topic, self._callback(topic, channel),
                                     qos_by_topic[topic], raw=True)

    def _callback(self, topic, channel):
        def write(data):
            t = self._node.get_clock().now().nanoseconds
            with self._lock:
                if self._closed:
                    return
                self._writer.add_message(channel_id=channel, log_time=t, publish_time=t, data=data,
                                         sequence=self.counts[topic])
                self.counts[topic] += 1
        return write

    def close(self):
        with self._lock:
            if not self._closed:
                self._closed = True
                self._writer.finish()
                self._file.close()
