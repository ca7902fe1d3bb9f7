"""A small module with known gaps: a branch no test takes, and two findings Bandit reports (an
import of subprocess, low; a shell=True call, high)."""

import subprocess


def add(a, b):
    return a + b


def sign(x):
    if x < 0:
        return -1
    return 1


def run(command):
    return subprocess.call(command, shell=True)
