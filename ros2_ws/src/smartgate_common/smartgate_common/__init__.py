"""ROS glue shared by the SmartGate nodes: parameters, QoS profiles, conversions, main()."""
