// Package deploy checks the deployable stack in docker/ without a Docker
// engine: the compose file, the collector configuration it runs, the
// Prometheus and Grafana provisioning, the dashboard's PromQL and the
// Dockerfile are parsed and cross-checked against each other and against
// builder-config.yaml.
package deploy
