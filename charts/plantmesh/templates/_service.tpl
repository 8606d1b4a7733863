{{/*
One plantmesh service: ServiceAccount (no API access), Deployment, ops Service, and, when asked,
PodDisruptionBudget and HorizontalPodAutoscaler. A new service is one values block under `services`
and one template file that calls this with:
  root       the chart context ($)
  component  the deployment's name suffix, e.g. events-reader
  image      the image suffix (the package), e.g. mqtt-reader
  values     its block of .Values.services
  env        its own environment, as a YAML list
  kind       Deployment (default), or StatefulSet for a service that needs a stable identity
  volumes    optional: its own volumes, as a YAML list
  volumeMounts  optional: their mounts in its container, as a YAML list
  ports      optional: ports it serves besides ops, as a YAML list of {name, port}: a container port each,
             and a port of its Service
  kubernetesApi  optional: true mounts the ServiceAccount's token (a service that watches the Kubernetes
             API with a Role of its own); every other pod has none
*/}}
{{- define "plantmesh.service" -}}
{{- $root := .root -}}
{{- $name := include "plantmesh.componentName" (dict "root" $root "component" .component) -}}
{{- $ctx := dict "root" $root "component" .component -}}
{{- $values := .values -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    {{- include "plantmesh.labels" $ctx | nindent 4 }}
automountServiceAccountToken: {{ .kubernetesApi | default false }}
---
{{- $kind := default "Deployment" .kind }}
apiVersion: apps/v1
kind: {{ $kind }}
metadata:
  name: {{ $name }}
  labels:
    {{- include "plantmesh.labels" $ctx | nindent 4 }}
spec:
  {{- if eq $kind "StatefulSet" }}
  serviceName: {{ $name }}
  podManagementPolicy: Parallel
  {{- end }}
  {{- if not $values.autoscaling.enabled }}
  replicas: {{ $values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "plantmesh.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "plantmesh.labels" $ctx | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.common.opsPort | quote }}
        prometheus.io/path: /metrics
        {{- with $root.Values.common.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: {{ .kubernetesApi | default false }}
      terminationGracePeriodSeconds: {{ $root.Values.common.terminationGracePeriodSeconds }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "plantmesh.podSecurityContext" 1000 | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "plantmesh.image" (dict "root" $root "service" .image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["node", "dist/main.js"]
          securityContext:
            {{- include "plantmesh.containerSecurityContext" . | nindent 12 }}
          ports:
            - name: ops
              containerPort: {{ $root.Values.common.opsPort }}
              protocol: TCP
            {{- range $port := (.ports | default "[]" | fromYamlArray) }}
            - name: {{ $port.name }}
              containerPort: {{ $port.port }}
              protocol: TCP
            {{- end }}
          env:
            - name: OPS_PORT
              value: {{ $root.Values.common.opsPort | quote }}
            - name: LOG_LEVEL
              value: {{ $root.Values.common.logLevel | quote }}
            # Drain within the pod's grace period, leaving Kubernetes a margin before it kills.
            - name: SHUTDOWN_TIMEOUT_MS
              value: {{ mul (sub $root.Values.common.terminationGracePeriodSeconds 5) 1000 | quote }}
            {{- with $root.Values.common.otlpEndpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            {{- .env | nindent 12 }}
            {{- include "plantmesh.caEnv" $root | nindent 12 }}
            {{- range $key, $value := $values.env }}
            - name: {{ $key }}
              value: {{ $value | quote }}
            {{- end }}
          livenessProbe:
            httpGet: { path: /healthz, port: ops }
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: ops }
            periodSeconds: 5
            failureThreshold: 2
          startupProbe:
            httpGet: { path: /healthz, port: ops }
            periodSeconds: 2
            failureThreshold: 30
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            {{- include "plantmesh.caVolumeMount" $root | nindent 12 }}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 64Mi }
        {{- include "plantmesh.caVolume" $root | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.common.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.common.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.common.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "plantmesh.labels" $ctx | nindent 4 }}
spec:
  selector:
    {{- include "plantmesh.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: ops
      port: {{ $root.Values.common.opsPort }}
      targetPort: ops
      protocol: TCP
    {{- range $port := (.ports | default "[]" | fromYamlArray) }}
    - name: {{ $port.name }}
      port: {{ $port.servicePort | default $port.port }}
      targetPort: {{ $port.name }}
      protocol: TCP
    {{- end }}
{{- if $values.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "plantmesh.labels" $ctx | nindent 4 }}
spec:
  minAvailable: {{ $values.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "plantmesh.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- if $values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "plantmesh.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: {{ $kind }}
    name: {{ $name }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}
