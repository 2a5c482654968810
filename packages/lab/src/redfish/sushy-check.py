#!/usr/bin/python3
"""Drives the lab Redfish service with Debian's python3-sushy, a Redfish client we did not write.

Usage: sushy-check.py URL USER PASSWORD session|basic CERT_PATH|insecure

Performs every call the Ingot redfish driver makes -- read the system (first member of
/Systems), set a one-time PXE boot override (legacy, then UEFI mode), reset On, ForceOff and
ForceRestart, read PowerState -- and prints one JSON object per step on stdout:
{"step": ..., "power": ..., "boot": {...}}. Exits non-zero on any sushy error.
"""
import json
import sys

import sushy
from sushy import auth


def snapshot(step, system):
    system.refresh()
    boot = system.boot
    print(
        json.dumps(
            {
                "step": step,
                "power": str(system.power_state.value) if system.power_state else None,
                "boot": {
                    "enabled": boot.enabled.value if boot.enabled else None,
                    "target": boot.target.value if boot.target else None,
                    "mode": boot.mode.value if boot.mode else None,
                },
            }
        ),
        flush=True,
    )


def main():
    url, user, password, mode, cert = sys.argv[1:6]
    method = auth.SessionAuth if mode == "session" else auth.BasicAuth
    root = sushy.Sushy(
        url + "/redfish/v1",
        verify=False if cert == "insecure" else cert,
        auth=method(username=user, password=password),
    )
    members = sorted(root.get_system_collection().members_identities)
    system = root.get_system(members[0])
    snapshot("read", system)

    system.set_system_boot_options(
        target=sushy.BOOT_SOURCE_TARGET_PXE, enabled=sushy.BOOT_SOURCE_ENABLED_ONCE
    )
    snapshot("boot-once-pxe", system)
    system.reset_system(sushy.RESET_ON)
    snapshot("reset-on", system)
    system.reset_system(sushy.RESET_FORCE_OFF)
    snapshot("reset-force-off", system)

    system.set_system_boot_options(
        target=sushy.BOOT_SOURCE_TARGET_PXE,
        enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
        mode=sushy.BOOT_SOURCE_MODE_UEFI,
    )
    snapshot("boot-once-pxe-uefi", system)
    system.reset_system(sushy.RESET_FORCE_RESTART)
    snapshot("reset-force-restart", system)
    root._conn.close()


if __name__ == "__main__":
    main()
