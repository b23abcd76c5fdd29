#!/usr/bin/env bash
# Builds the local Redis image the test harness runs through testcontainers. No registry can be reached
# from the test machines (docs/platform.md), so the image is `docker import`ed from a tarball holding the host's
# own redis-server and the shared libraries ldd says it needs. Idempotent: the image carries a label with a
# hash of those files and is rebuilt only when they changed (an apt upgrade of redis or a library).
#
# Usage: test/docker/build-redis-image.sh [TAG]   (default: $PATCHROLL_TEST_REDIS_IMAGE or patchroll-test/redis:local)
set -euo pipefail

tag="${1:-${PATCHROLL_TEST_REDIS_IMAGE:-patchroll-test/redis:local}}"
binary="$(command -v redis-server || true)"
if [[ -z "$binary" ]]; then
  echo "build-redis-image: redis-server is not installed on this host; run: apt-get install -y redis-server" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "build-redis-image: the Docker engine is not reachable; run .ci/docker-setup first" >&2
  exit 1
fi

real_binary="$(readlink -f "$binary")"
# ldd prints "name => /path (addr)" for libraries and "/lib64/ld-linux... (addr)" for the loader.
mapfile -t libs < <(ldd "$real_binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [[ ${#libs[@]} -eq 0 ]]; then
  echo "build-redis-image: ldd found no shared libraries for $real_binary; is it a dynamic executable?" >&2
  exit 1
fi

content_hash="$( { sha256sum "$real_binary"; for lib in "${libs[@]}"; do sha256sum "$(readlink -f "$lib")"; done; } | sha256sum | cut -c1-16)"
current="$(docker image inspect -f '{{ index .Config.Labels "patchroll.content" }}' "$tag" 2>/dev/null || true)"
if [[ "$current" == "$content_hash" ]]; then
  echo "build-redis-image: $tag is up to date (content $content_hash)"
  exit 0
fi

work="$(mktemp -d /var/tmp/patchroll-redis-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/usr/bin" "$root/data" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
# Copy under the name redis-server: Debian's redis-server is a symlink to redis-check-rdb, and redis
# picks its mode from argv[0].
cp -L "$real_binary" "$root/usr/bin/redis-server"
for lib in "${libs[@]}"; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/usr/bin/redis-server\nnobody:x:65534:65534:nobody:/nonexistent:/usr/bin/redis-server\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" --numeric-owner -cf "$work/rootfs.tar" .
lib_dirs="$(printf '%s\n' "${libs[@]}" | xargs -n1 dirname | sort -u | paste -sd: -)"
docker import \
  --change "LABEL patchroll.content=$content_hash" \
  --change "LABEL patchroll.purpose=test-redis" \
  --change "ENV LD_LIBRARY_PATH=$lib_dirs" \
  --change "WORKDIR /data" \
  --change 'ENTRYPOINT ["/usr/bin/redis-server"]' \
  --change 'CMD ["--port", "6379", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "build-redis-image: built $tag from $real_binary ($("$binary" --version | awk '{print $3}'), content $content_hash)"
