#!/usr/bin/env bash
# Builds every plantmesh image with the chart's tags and pushes them:
#   REGISTRY=registry.plant.local scripts/build-images.sh [--no-push]
# Images are <REGISTRY>/plantmesh/plantmesh-<package>:<chart appVersion>, as charts/plantmesh expects
# with image.registry=<REGISTRY>. First the production dependencies are audited (when the registry
# answers: a high or critical advisory stops the build); each image's CycloneDX SBOM is written to
# sbom/plantmesh-<package>.cdx.json (and is in the image as /app/sbom.cdx.json). NODE_IMAGE pins the
# base image, e.g. NODE_IMAGE=node:20-bookworm-slim@sha256:...
set -euo pipefail
cd "$(dirname "$0")/.."

registry="${REGISTRY:-}"
push=true
[ "${1:-}" = "--no-push" ] && push=false
tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/plantmesh/Chart.yaml)
# The packages the chart runs: its services and the migrations (cli).
packages=(mqtt-reader amqp-writer etl-curated etl-business i3x-api catalog cli)

if npm ping >/dev/null 2>&1; then
  echo "auditing production dependencies"
  pnpm audit --prod --audit-level high
else
  echo "warning: the npm registry does not answer; dependency audit skipped" >&2
fi

mkdir -p sbom
build_args=()
[ -n "${NODE_IMAGE:-}" ] && build_args+=(--build-arg "NODE_IMAGE=${NODE_IMAGE}")

for package in "${packages[@]}"; do
  image="plantmesh/plantmesh-${package}:${tag}"
  [ -n "$registry" ] && image="${registry}/${image}"
  echo "building ${image}"
  docker build "${build_args[@]}" --build-arg "PACKAGE=${package}" -t "${image}" .
  container=$(docker create "${image}")
  docker cp "${container}:/app/sbom.cdx.json" "sbom/plantmesh-${package}.cdx.json"
  docker rm "${container}" >/dev/null
  if $push; then
    docker push "${image}"
    # The digest to pin in the chart's values (image.digests).
    docker inspect --format '{{index .RepoDigests 0}}' "${image}"
  fi
done
