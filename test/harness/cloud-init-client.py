"""Drives Debian's stock cloud-init against Ingot's metadata service, as a deployed OS would.

Usage (PYTHONPATH must hold cloud-init's unpacked dist-packages):
  cloud-init-client.py seed   METADATA_URL TOKEN           -> JSON {user_data, meta_data}
  cloud-init-client.py report STATUS_URL   TOKEN LOG_FILE  -> posts start + finish events

TOKEN is MAAS's consumer_key:token_key:token_secret, as the datasource config carries it.
"""
import json
import sys

from cloudinit import url_helper
from cloudinit.reporting import events, handlers
from cloudinit.sources import DataSourceMAAS


def creds(token):
    consumer_key, token_key, token_secret = token.split(":")
    return {
        "consumer_key": consumer_key,
        "token_key": token_key,
        "token_secret": token_secret,
        "consumer_secret": "",
    }


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def seed(url, token):
    # What DataSourceMAAS._get_data does once its config names metadata_url and the token
    # (skew file off: it would write /run/oauth_skew.json on a 401).
    helper = url_helper.OauthUrlHelper(skew_data_file=None, **creds(token))
    user_data, meta_data, _vendor = DataSourceMAAS.read_maas_seed_url(
        url, read_file_or_url=helper.readurl, retries=1
    )
    print(
        json.dumps(
            {
                "user_data": text(user_data),
                "meta_data": {k: text(v) for k, v in meta_data.items()},
            }
        )
    )


def report(endpoint, token, log_file):
    # The webhook reporter cloud-init builds from `reporting: {maas: {type: webhook, ...}}`.
    handler = handlers.WebHookHandler(endpoint, timeout=10, retries=1, **creds(token))
    name = "modules-final/config-scripts-user"
    handler.publish_event(
        events.ReportingEvent(events.START_EVENT_TYPE, name, "running config-scripts-user")
    )
    handler.publish_event(
        events.FinishReportingEvent(
            name, "ran config-scripts-user", result=events.status.WARN, post_files=[log_file]
        )
    )
    handler.flush()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "seed":
        seed(sys.argv[2], sys.argv[3])
    elif command == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + command)
