"""Navigation nodes: the lane-map server and the route follower behind the FollowRoute action."""
