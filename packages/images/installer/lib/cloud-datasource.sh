# shellcheck shell=sh
# Shared by the installer (written into an installed OS) and Ingot's initramfs (written into the
# overlay of a deploy in memory): cloud-init's MAAS datasource pointing at the metadata service,
# and a webhook reporter posting cloud-init's events to …/status/<machine_id>, both with the
# machine's OAuth token (deploy-contract.md "Metadata token"). busybox sh and dash compatible.
#
# ingot_cloud_datasource METADATA_URL TOKEN MACHINE_ID
#   prints the YAML on stdout. TOKEN is <consumer_key>:<token_key>:<token_secret>. The values
#   are [A-Za-z0-9] and URLs (no quotes), so double-quoted YAML scalars need no escaping.
#   The tiny image's /sbin/init reads this file back with sed: keep one key per line.
ingot_cloud_datasource() {
  _url=$1
  case "$_url" in */) ;; *) _url="$_url/" ;; esac
  _ck=${2%%:*}
  _rest=${2#*:}
  _tk=${_rest%%:*}
  _ts=${_rest#*:}
  cat <<EOF_CFG
# Written by Ingot for machine $3: cloud-init reads its data from Ingot's metadata service
# (MAAS layout) and reports its progress there. The token is a secret.
datasource_list: [MAAS]
datasource:
  MAAS:
    metadata_url: "$_url"
    consumer_key: "$_ck"
    token_key: "$_tk"
    token_secret: "$_ts"
reporting:
  ingot:
    type: webhook
    endpoint: "${_url}status/$3"
    consumer_key: "$_ck"
    token_key: "$_tk"
    token_secret: "$_ts"
EOF_CFG
}

# ingot_oauth_header CONSUMER_KEY TOKEN_KEY TOKEN_SECRET
#   prints an OAuth 1.0 PLAINTEXT Authorization header value (consumer secret empty, as MAAS):
#   the signature is "<consumer secret>&<token secret>", URL-escaped as cloud-init sends it.
ingot_oauth_header() {
  # A builtin read, no fork: under TCG every process start costs tens of milliseconds.
  read -r _nonce </proc/sys/kernel/random/uuid 2>/dev/null || _nonce="$$$(date +%s)"
  printf 'OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", oauth_token="%s", oauth_signature="%%26%s", oauth_nonce="%s", oauth_timestamp="%s"' \
    "$1" "$2" "$3" "$_nonce" "$(date +%s)"
}
