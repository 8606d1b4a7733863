{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "plantmesh.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: <release>-plantmesh, or the release name alone when it already says plantmesh. */}}
{{- define "plantmesh.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one component: <fullname>-<component>. */}}
{{- define "plantmesh.componentName" -}}
{{- printf "%s-%s" (include "plantmesh.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. Call with (dict "root" $ "component" "name"). */}}
{{- define "plantmesh.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: plantmesh
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "plantmesh.selectorLabels" . }}
{{- end -}}

{{/* Labels that select one component's pods (also what NetworkPolicies match). */}}
{{- define "plantmesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plantmesh.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image of a plantmesh service. */}}
{{- define "plantmesh.image" -}}
{{- $image := .root.Values.image -}}
{{- $repository := printf "%s-%s" $image.repository .service -}}
{{- if $image.registry -}}{{- $repository = printf "%s/%s" $image.registry $repository -}}{{- end -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) -}}
{{- with index (default dict $image.digests) .service }}@{{ . }}{{ end -}}
{{- end -}}

{{/* An infrastructure image, by tag and, when given, pinned by digest. Call with its values block. */}}
{{- define "plantmesh.infraImage" -}}
{{- printf "%s:%s" .repository .tag -}}{{- with .digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* Pod security: non-root, RuntimeDefault seccomp. Call with the uid the image runs as. */}}
{{- define "plantmesh.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security: read-only root, no privilege escalation, no capabilities. */}}
{{- define "plantmesh.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Where the platform's dependencies are: the chart's own servers or the external ones. */}}
{{- define "plantmesh.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}{{ include "plantmesh.componentName" (dict "root" . "component" "postgresql") }}{{- else -}}{{ required "postgresql.external.host is required when postgresql.enabled is false" .Values.postgresql.external.host }}{{- end -}}
{{- end -}}

{{- define "plantmesh.postgresPort" -}}
{{- if .Values.postgresql.enabled -}}5432{{- else -}}{{ .Values.postgresql.external.port }}{{- end -}}
{{- end -}}

{{- define "plantmesh.postgresSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" . "component" "postgresql")) .Values.postgresql.existingSecret -}}
{{- end -}}

{{- define "plantmesh.rabbitmqHost" -}}
{{- if .Values.rabbitmq.enabled -}}{{ include "plantmesh.componentName" (dict "root" . "component" "rabbitmq") }}{{- else -}}{{ required "rabbitmq.external.host is required when rabbitmq.enabled is false" .Values.rabbitmq.external.host }}{{- end -}}
{{- end -}}

{{/* AMQP over TLS (5671) when tls.enabled; an external RabbitMQ's port is given as it is. */}}
{{- define "plantmesh.rabbitmqPort" -}}
{{- if .Values.rabbitmq.enabled -}}{{ ternary 5671 5672 .Values.tls.enabled }}{{- else -}}{{ .Values.rabbitmq.external.port }}{{- end -}}
{{- end -}}

{{- define "plantmesh.rabbitmqManagementPort" -}}
{{- if .Values.rabbitmq.enabled -}}{{ ternary 15671 15672 .Values.tls.enabled }}{{- else -}}{{ .Values.rabbitmq.external.managementPort }}{{- end -}}
{{- end -}}

{{/*
TLS inside the platform (tls.enabled): the schemes and the PostgreSQL query that verify the server's
certificate and host name against the CA mounted into every plantmesh pod.
*/}}
{{- define "plantmesh.amqpScheme" -}}{{ ternary "amqps" "amqp" .Values.tls.enabled }}{{- end -}}
{{- define "plantmesh.httpScheme" -}}{{ ternary "https" "http" .Values.tls.enabled }}{{- end -}}
{{- define "plantmesh.postgresQuery" -}}{{ if .Values.tls.enabled }}?sslmode=verify-full{{ end }}{{- end -}}

{{/* The TLS Secret of one server: cert-manager's Certificate, or the given kubernetes.io/tls Secret. */}}
{{- define "plantmesh.serverTlsSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" .root "component" (printf "%s-tls" .server))) (index .root.Values.tls.existingSecrets .server) -}}
{{- end -}}

{{/* The CA every plantmesh container trusts when tls.enabled: its env, mount and volume. */}}
{{- define "plantmesh.caEnv" -}}
{{- if .Values.tls.enabled }}
- { name: NODE_EXTRA_CA_CERTS, value: /etc/plantmesh-ca/ca.crt }
{{- end }}
{{- end -}}
{{- define "plantmesh.caVolumeMount" -}}
{{- if .Values.tls.enabled }}
- { name: plantmesh-ca, mountPath: /etc/plantmesh-ca, readOnly: true }
{{- end }}
{{- end -}}
{{- define "plantmesh.caVolume" -}}
{{- if .Values.tls.enabled }}
- name: plantmesh-ca
  secret:
    secretName: {{ required "tls.caSecret is required when tls.enabled (a Secret with key ca.crt)" .Values.tls.caSecret }}
    items: [{ key: ca.crt, path: ca.crt }]
{{- end }}
{{- end -}}

{{- define "plantmesh.rabbitmqSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" . "component" "rabbitmq")) .Values.rabbitmq.existingSecret -}}
{{- end -}}

{{/* The URL of one MQTT broker. Call with (dict "root" $ "stream" "events"). */}}
{{- define "plantmesh.mqttUrl" -}}
{{- $broker := index .root.Values.mqtt .stream -}}
{{- $name := include "plantmesh.componentName" (dict "root" .root "component" (printf "mqtt-%s" .stream)) -}}
{{- if not $broker.enabled -}}
{{- required (printf "mqtt.%s.external.url is required when mqtt.%s.enabled is false" .stream .stream) $broker.external.url -}}
{{- else if .root.Values.tls.enabled -}}
{{- if not .root.Values.mqtt.tls.enabled -}}{{- fail "tls.enabled needs mqtt.tls.enabled: the readers use the brokers' TLS listener" -}}{{- end -}}
{{- /* The name the broker's certificate holds (see mqtt.yaml), on its TLS listener. */ -}}
{{- printf "mqtts://%s.%s.svc:%v" $name .root.Release.Namespace .root.Values.mqtt.tls.port -}}
{{- else -}}
{{- printf "mqtt://%s:%v" $name .root.Values.mqtt.port -}}
{{- end -}}
{{- end -}}

{{/*
Connection variables of a service: passwords from Secrets, URLs composed by Kubernetes from them
($(VAR) expansion), so no password is ever written into a ConfigMap or a manifest.
*/}}
{{- define "plantmesh.postgresEnv" -}}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "plantmesh.postgresSecret" . }}, key: password }
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(POSTGRES_PASSWORD)@%s:%s/%s%s" .Values.postgresql.username (include "plantmesh.postgresHost" .) (include "plantmesh.postgresPort" .) .Values.postgresql.database (include "plantmesh.postgresQuery" .) | quote }}
{{- end -}}

{{/*
The plantmesh services and their own identities: the values key of each, and whether it logs in to
PostgreSQL (as plantmesh_<component with _>, made by the migrations, packages/schema serviceLogins)
and to RabbitMQ (as plantmesh-<component>, made by the migrations, packages/core brokerUsers). The
passwords are in the service's own credentials Secret (postgres-password, rabbitmq-password).
*/}}
{{- define "plantmesh.serviceIdentities" -}}
events-reader: { values: eventsReader, postgres: false, rabbitmq: true }
sensors-reader: { values: sensorsReader, postgres: false, rabbitmq: true }
amqp-writer: { values: amqpWriter, postgres: true, rabbitmq: true }
etl-curated: { values: etlCurated, postgres: true, rabbitmq: false }
etl-business: { values: etlBusiness, postgres: true, rabbitmq: false }
i3x-api: { values: i3xApi, postgres: true, rabbitmq: true }
catalog: { values: catalog, postgres: true, rabbitmq: true }
{{- end -}}

{{/* A service's own credentials Secret. Call with (dict "root" $ "component" "amqp-writer"). */}}
{{- define "plantmesh.credentialsSecret" -}}
{{- $identity := index (include "plantmesh.serviceIdentities" .root | fromYaml) .component -}}
{{- $values := index .root.Values.services $identity.values -}}
{{- default (include "plantmesh.componentName" (dict "root" .root "component" (printf "%s-credentials" .component))) $values.credentials.existingSecret -}}
{{- end -}}

{{/*
A service's connection to PostgreSQL as its own login: the password from its own Secret in PGPASSWORD
(which the PostgreSQL client reads), the URL without it. Call with (dict "root" $ "component" "amqp-writer").
*/}}
{{- define "plantmesh.servicePostgresEnv" -}}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "plantmesh.credentialsSecret" . }}, key: postgres-password }
- name: DATABASE_URL
  value: {{ printf "postgres://plantmesh_%s@%s:%s/%s%s" (.component | replace "-" "_") (include "plantmesh.postgresHost" .root) (include "plantmesh.postgresPort" .root) .root.Values.postgresql.database (include "plantmesh.postgresQuery" .root) | quote }}
{{- end -}}

{{/* A service's connection to RabbitMQ as its own user. Call with (dict "root" $ "component" "events-reader"). */}}
{{- define "plantmesh.serviceAmqpEnv" -}}
- name: RABBITMQ_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "plantmesh.credentialsSecret" . }}, key: rabbitmq-password }
- name: AMQP_URL
  value: {{ printf "%s://plantmesh-%s:$(RABBITMQ_PASSWORD)@%s:%s" (include "plantmesh.amqpScheme" .root) .component (include "plantmesh.rabbitmqHost" .root) (include "plantmesh.rabbitmqPort" .root) | quote }}
{{- end -}}

{{/* The RabbitMQ administrator: the topology and the services' users (the migrations Job only). */}}
{{- define "plantmesh.amqpAdminEnv" -}}
- name: RABBITMQ_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "plantmesh.rabbitmqSecret" . }}, key: password }
- name: AMQP_URL
  value: {{ printf "%s://%s:$(RABBITMQ_ADMIN_PASSWORD)@%s:%s" (include "plantmesh.amqpScheme" .) .Values.rabbitmq.username (include "plantmesh.rabbitmqHost" .) (include "plantmesh.rabbitmqPort" .) | quote }}
- name: RABBITMQ_MANAGEMENT_URL
  value: {{ printf "%s://%s:$(RABBITMQ_ADMIN_PASSWORD)@%s:%v" (include "plantmesh.httpScheme" .) .Values.rabbitmq.username (include "plantmesh.rabbitmqHost" .) (include "plantmesh.rabbitmqManagementPort" .) | quote }}
{{- end -}}

{{/*
A password kept across upgrades: the existing Secret's value when there is one, a new random one
otherwise. Call with (dict "root" $ "name" secretName "key" key).
*/}}
{{- define "plantmesh.password" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}

{{- define "plantmesh.mqttSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" . "component" "mqtt")) .Values.mqtt.auth.existingSecret -}}
{{- end -}}

{{- define "plantmesh.mqttTlsSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" . "component" "mqtt-tls")) .Values.mqtt.tls.existingSecret -}}
{{- end -}}

{{/* The readers' MQTT credentials. */}}
{{- define "plantmesh.mqttEnv" -}}
- name: MQTT_USERNAME
  value: {{ .Values.mqtt.auth.readerUsername | quote }}
- name: MQTT_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "plantmesh.mqttSecret" . }}, key: reader-password }
{{- end -}}

{{/*
A server's certificate from cert-manager (tls.enabled with tls.certManager.enabled), for the names the
platform reaches it by. Call with (dict "root" $ "server" "postgresql").
*/}}
{{- define "plantmesh.serverCertificate" -}}
{{- if and .root.Values.tls.enabled .root.Values.tls.certManager.enabled (not (index .root.Values.tls.existingSecrets .server)) }}
{{- $name := include "plantmesh.componentName" (dict "root" .root "component" .server) }}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ include "plantmesh.serverTlsSecret" . }}
  labels:
    {{- include "plantmesh.labels" (dict "root" .root "component" .server) | nindent 4 }}
spec:
  secretName: {{ include "plantmesh.serverTlsSecret" . }}
  issuerRef:
    name: {{ required "tls.certManager.issuerRef.name is required with cert-manager" .root.Values.tls.certManager.issuerRef.name }}
    kind: {{ .root.Values.tls.certManager.issuerRef.kind }}
  dnsNames:
    - {{ $name }}
    - {{ $name }}.{{ .root.Release.Namespace }}.svc
    - {{ $name }}.{{ .root.Release.Namespace }}.svc.cluster.local
{{- end }}
{{- end -}}

{{/* The I3X API's certificate Secret (kubernetes.io/tls): the given one, or the chart's (cert-manager or self-signed). */}}
{{- define "plantmesh.i3xTlsSecret" -}}
{{- default (include "plantmesh.componentName" (dict "root" . "component" "i3x-api-tls")) .Values.services.i3xApi.https.existingSecret -}}
{{- end -}}
