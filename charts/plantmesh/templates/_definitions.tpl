{{/*
The services that run from a folder of definition files: the values key of each, the files the chart
ships (files/definitions/<folder>, a link to the package's own definitions/, so that what ships is what
the package has), the variable naming the folder and where it is mounted.
*/}}
{{- define "plantmesh.definitionServices" -}}
etl-curated: { values: etlCurated, shipped: curated, variable: DEFINITIONS_DIR, dir: /etc/plantmesh/definitions }
etl-business: { values: etlBusiness, shipped: kpis, variable: KPI_DEFINITIONS_DIR, dir: /etc/plantmesh/kpis }
{{- end -}}

{{/* The ConfigMap of a service's definition files. Call with (dict "root" $ "component" "etl-curated"). */}}
{{- define "plantmesh.definitionsConfigMap" -}}
{{- $service := index (include "plantmesh.definitionServices" .root | fromYaml) .component -}}
{{- $values := index .root.Values.services $service.values -}}
{{- default (include "plantmesh.componentName" (dict "root" .root "component" (printf "%s-definitions" .component))) $values.existingConfigMap -}}
{{- end -}}

{{/*
A service of plantmesh.definitionServices, with its own PostgreSQL login, and its definitions as a
ConfigMap mounted as the folder it watches (not as subPath files, which the kubelet never updates): an
edited ConfigMap reaches the running pods and the service applies a changed file without a restart (so
no checksum annotation rolls the pods). The ConfigMap holds the shipped files, then those of the values
(`definitions`, file name -> YAML text), unless the plant names its own (`existingConfigMap`).
Call with (dict "root" $ "component" "etl-curated").
*/}}
{{- define "plantmesh.definitionsService" -}}
{{- $root := .root -}}
{{- $service := index (include "plantmesh.definitionServices" $root | fromYaml) .component -}}
{{- $values := index $root.Values.services $service.values -}}
{{- $key := printf "services.%s" $service.values -}}
{{- if and $values.existingConfigMap $values.definitions }}
{{- fail (printf "%s.definitions are not used with %s.existingConfigMap: put them into that ConfigMap" $key $key) }}
{{- end }}
{{- $configMap := include "plantmesh.definitionsConfigMap" . -}}
{{- $env := printf "%s\n- name: %s\n  value: %s" (include "plantmesh.servicePostgresEnv" .) $service.variable $service.dir -}}
{{- $volumeMounts := printf "- { name: definitions, mountPath: %s, readOnly: true }" $service.dir -}}
{{- $volumes := printf "- name: definitions\n  configMap: { name: %s }" $configMap -}}
{{ include "plantmesh.service" (dict "root" $root "component" .component "image" .component "values" $values "env" $env "volumes" $volumes "volumeMounts" $volumeMounts) }}
{{- if not $values.existingConfigMap }}
{{- $definitions := dict }}
{{- range $path, $_ := $root.Files.Glob (printf "files/definitions/%s/*.yaml" $service.shipped) }}
{{- $_ := set $definitions (base $path) ($root.Files.Get $path) }}
{{- end }}
{{- range $file, $text := $values.definitions }}
{{- $_ := set $definitions $file $text }}
{{- end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $configMap }}
  labels:
    {{- include "plantmesh.labels" (dict "root" $root "component" .component) | nindent 4 }}
data:
  {{- toYaml $definitions | nindent 2 }}
{{- end }}
{{- end -}}
