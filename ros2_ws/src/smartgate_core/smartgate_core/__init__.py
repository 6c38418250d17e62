"""The ROS-free core of SmartGate: lane maps and routes, geodesy, vehicle model, sensor models, state estimation, route tracking control. Imports neither rclpy nor message types."""
