#!/usr/bin/env bash
# Downloads OpenAI's CLIP ViT-B/16 weights and the BPE vocabulary from their official
# addresses into ${CMCLIP_HOME:-$HOME/.cache/cmclip}, and checks their SHA-256 (the
# weights' is the long hex in their URL, as clip.py checks it). Files already there
# with the right checksum are kept (idempotent); a download with another checksum is
# refused and removed.
#
#   scripts/fetch-clip.sh                 # both files
#   scripts/fetch-clip.sh vocab           # only bpe_simple_vocab_16e6.txt.gz
#   scripts/fetch-clip.sh ViT-B-16        # only ViT-B-16.pt
#
# Environment: CMCLIP_HOME (target folder), CMCLIP_FETCH_BASE (fetch every file from
# BASE/<file name> instead, e.g. a mirror or file:///path; the checksums still apply).
# Exit status: 0 done, 1 download failed or checksum mismatch, 2 bad usage.
set -euo pipefail

home=${CMCLIP_HOME:-${HOME:-.}/.cache/cmclip}
vit_sha=5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f
vit_url=https://openaipublic.azureedge.net/clip/models/$vit_sha/ViT-B-16.pt
bpe_sha=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
bpe_url=https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz

say() { echo "fetch-clip: $*" >&2; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

download() {  # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl --fail --location --silent --show-error --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 -O "$2" "$1"
  else
    say "needs curl or wget"; return 1
  fi
}

fetch() {  # NAME URL SHA256
  local name=$1 url=$2 sha=$3 target="$home/$1"
  if [[ -n "${CMCLIP_FETCH_BASE:-}" ]]; then url="${CMCLIP_FETCH_BASE%/}/$name"; fi
  if [[ -f "$target" ]]; then
    if [[ "$(sha_of "$target")" == "$sha" ]]; then
      say "$target is present and verified"
      return 0
    fi
    say "$target has another checksum; downloading it again"
  fi
  local tmp="$target.part.$$"
  trap 'rm -f "$tmp"' EXIT
  say "downloading $url"
  if ! download "$url" "$tmp"; then
    rm -f "$tmp"; say "download of $url failed"; return 1
  fi
  local got; got=$(sha_of "$tmp")
  if [[ "$got" != "$sha" ]]; then
    rm -f "$tmp"
    say "refusing $name: sha256 $got, expected $sha"
    return 1
  fi
  mv -f "$tmp" "$target"
  trap - EXIT
  say "$target verified (sha256 $sha)"
}

want_vocab=0 want_vit=0
if (($# == 0)); then want_vocab=1 want_vit=1; fi
for arg in "$@"; do
  case "$arg" in
    vocab) want_vocab=1 ;;
    ViT-B-16) want_vit=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown item '$arg' (vocab, ViT-B-16)"; exit 2 ;;
  esac
done

mkdir -p "$home"
status=0
if ((want_vocab)); then fetch bpe_simple_vocab_16e6.txt.gz "$bpe_url" "$bpe_sha" || status=1; fi
if ((want_vit)); then fetch ViT-B-16.pt "$vit_url" "$vit_sha" || status=1; fi
exit $status
