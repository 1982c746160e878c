"""Corrections to the local moto server, so the local stack keeps AWS's promises.

Installed by the local stack's server (``python -m tools.localstack.moto_server``) into its own
process before it serves; nothing else here runs in the runtime's process. What is public is
below; the modules behind it are this package's own (``tests/unit/test_runtime_layout.py``):

* :func:`install_serial`, :data:`REQUEST_LOCK`, :func:`serial_installed` (``serial.py``): one
  request at a time, so a conditional write wins or fails, a message is received once within its
  visibility timeout, and an event a rule matches reaches its target.
* :func:`install_s3_post`, :func:`check_post_policy`, :class:`PostPolicyError`
  (``s3_post.py``): browser uploads checked against their POST policy and answered as S3 does
  (``x-amz-version-id``, the bucket's CORS only).
"""

from tools.runtime.moto_patches.s3_post import PostPolicyError, check_post_policy
from tools.runtime.moto_patches.s3_post import install as install_s3_post
from tools.runtime.moto_patches.serial import REQUEST_LOCK
from tools.runtime.moto_patches.serial import install as install_serial
from tools.runtime.moto_patches.serial import installed as serial_installed

__all__ = [
    "REQUEST_LOCK",
    "PostPolicyError",
    "check_post_policy",
    "install_s3_post",
    "install_serial",
    "serial_installed",
]
