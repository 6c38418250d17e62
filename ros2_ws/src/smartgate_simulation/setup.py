from setuptools import find_packages, setup

package_name = 'smartgate_simulation'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='SmartGate engineering',
    maintainer_email='engineering@smartgate-huunghi.vn',
    description='The world simulator: every vehicle and crane on one clock',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'world_sim = smartgate_simulation.world_sim_node:main',
        ],
    },
)
