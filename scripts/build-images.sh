#!/usr/bin/env bash
# Builds every plantmesh image with the chart's tags and pushes them:
#   REGISTRY=registry.plant.local scripts/build-images.sh [--no-push]
# Images are <REGISTRY>/plantmesh/plantmesh-<package>:<chart appVersion>, as charts/plantmesh expects
# with image.registry=<REGISTRY>.
set -euo pipefail
cd "$(dirname "$0")/.."

registry="${REGISTRY:-}"
push=true
[ "${1:-}" = "--no-push" ] && push=false
tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/plantmesh/Chart.yaml)
# The packages the chart runs: its services and the migrations (cli).
packages=(mqtt-reader amqp-writer cli)

for package in "${packages[@]}"; do
  image="plantmesh/plantmesh-${package}:${tag}"
  [ -n "$registry" ] && image="${registry}/${image}"
  echo "building ${image}"
  docker build --build-arg "PACKAGE=${package}" -t "${image}" .
  if $push; then docker push "${image}"; fi
done
