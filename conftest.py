"""Root pytest set-up: notebook kernels started by nbval get the course's deterministic environment."""

import os

from authkit.course.notebooks import deterministic_environment

os.environ.update(deterministic_environment())
