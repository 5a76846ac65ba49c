{{/*
Names, labels, the checks that refuse a configuration the runtime would not
start with (or that would lose data), and config.toml.
*/}}

{{- define "pulse-runtime.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pulse-runtime.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pulse-runtime.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pulse-runtime.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pulse-runtime.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pulse-runtime.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: runtime
{{- end }}

{{- define "pulse-runtime.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pulse-runtime.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pulse-runtime.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret and key that hold the tokens' JSON, or "" for none. */}}
{{- define "pulse-runtime.tokensSecret" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if .Values.auth.tokens }}
{{- printf "%s-auth-tokens" (include "pulse-runtime.fullname" .) }}
{{- end }}
{{- end }}

{{- define "pulse-runtime.tokensKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretKey }}
{{- else }}
{{- "tokens.json" }}
{{- end }}
{{- end }}

{{/* Whether the probes ask gRPC health (the kubelet's gRPC probe speaks no TLS). */}}
{{- define "pulse-runtime.grpcProbes" -}}
{{- if and (eq .Values.probes.type "grpc") (not .Values.tls.existingSecret) }}true{{ end }}
{{- end }}

{{/*
Settings of config.toml that the chart derives from other values: setting
them under .Values.config would be overridden or contradicted.
*/}}
{{- define "pulse-runtime.chartSettings" -}}
server: [grpc_addr, metrics_addr, tls_cert, tls_key, tls_client_ca]
auth: [tokens, allow_anonymous]
storage: [backend, path, endpoint, bucket, region, prefix, force_path_style, create_bucket]
{{- end }}

{{/* The environment variables of those settings, and PULSE_CONFIG. */}}
{{- define "pulse-runtime.chartEnv" -}}
- PULSE_CONFIG
- PULSE_GRPC_ADDR
- PULSE_METRICS_ADDR
- PULSE_TLS_CERT
- PULSE_TLS_KEY
- PULSE_TLS_CLIENT_CA
- PULSE_AUTH_TOKENS
- PULSE_AUTH_ALLOW_ANONYMOUS
- PULSE_STORAGE_BACKEND
- PULSE_DATA_DIR
- PULSE_S3_ENDPOINT
- PULSE_S3_BUCKET
- PULSE_S3_REGION
- PULSE_S3_PREFIX
- PULSE_S3_FORCE_PATH_STYLE
- PULSE_S3_CREATE_BUCKET
{{- end }}

{{/* Fails the render, naming the value to change, where the runtime would not start or could lose data. */}}
{{- define "pulse-runtime.validate" -}}
{{- $v := .Values }}
{{- if not (has $v.storage.backend (list "fs" "s3")) }}
{{- fail (printf "storage.backend must be fs or s3, not %q" $v.storage.backend) }}
{{- end }}
{{- if and (eq $v.storage.backend "fs") (gt (int $v.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d, but storage.backend fs keeps the store in one data directory on one PersistentVolume, which only one runtime may use: set replicaCount to 1 (or 0 to stop it), or use storage.backend s3 for several replicas" (int $v.replicaCount)) }}
{{- end }}
{{- if and (eq $v.storage.backend "s3") (not $v.storage.s3.bucket) }}
{{- fail "storage.s3.bucket must be set with storage.backend s3" }}
{{- end }}
{{- if and $v.auth.tokens $v.auth.existingSecret }}
{{- fail "Set auth.tokens or auth.existingSecret, not both: the runtime reads one PULSE_AUTH_TOKENS" }}
{{- end }}
{{- if not (or $v.auth.tokens $v.auth.existingSecret $v.auth.allowAnonymous) }}
{{- fail "Set auth.tokens (or auth.existingSecret, a Secret holding them as JSON) or auth.allowAnonymous=true: the runtime listens on every interface of the pod, where it refuses to start (exit status 2) without tokens unless anonymous access is allowed" }}
{{- end }}
{{- $owned := include "pulse-runtime.chartSettings" . | fromYaml }}
{{- range $section, $table := $v.config }}
{{- if not (kindIs "map" $table) }}
{{- fail (printf "config.%s must be a mapping of settings ([%s] in config.toml)" $section $section) }}
{{- end }}
{{- range $key, $value := $table }}
{{- if has $key (get $owned $section | default list) }}
{{- fail (printf "config.%s.%s is set by the chart from other values (storage, auth, tls, ports): set those instead" $section $key) }}
{{- end }}
{{- if or (kindIs "map" $value) (kindIs "slice" $value) }}
{{- fail (printf "config.%s.%s must be a string, number or boolean" $section $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- $ownedEnv := include "pulse-runtime.chartEnv" . | fromYamlArray }}
{{- range $v.extraEnv }}
{{- if has .name $ownedEnv }}
{{- fail (printf "extraEnv sets %s, which the chart sets from other values (storage, auth, tls, ports)" .name) }}
{{- end }}
{{- end }}
{{- $drainMs := 30000 }}
{{- if and $v.config $v.config.server (hasKey $v.config.server "drain_timeout_ms") }}
{{- $drainMs = int64 $v.config.server.drain_timeout_ms }}
{{- end }}
{{- if le (mul (int64 $v.terminationGracePeriodSeconds) 1000) (int64 $drainMs) }}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be longer than config.server.drain_timeout_ms (%d ms), or Kubernetes kills the runtime before its drain ends" (int64 $v.terminationGracePeriodSeconds) (int64 $drainMs)) }}
{{- end }}
{{- end }}

{{/* The settings of config.toml: what the chart derives, then .Values.config. */}}
{{- define "pulse-runtime.settings" -}}
{{- $v := .Values }}
{{- $server := dict }}
{{- if $v.tls.existingSecret }}
{{- $_ := set $server "tls_cert" "/app/tls/tls.crt" }}
{{- $_ := set $server "tls_key" "/app/tls/tls.key" }}
{{- if $v.tls.clientCaKey }}
{{- $_ := set $server "tls_client_ca" (printf "/app/tls/%s" $v.tls.clientCaKey) }}
{{- end }}
{{- end }}
{{- $storage := dict "backend" $v.storage.backend }}
{{- if eq $v.storage.backend "fs" }}
{{- $_ := set $storage "path" "./data" }}
{{- else }}
{{- $s3 := $v.storage.s3 }}
{{- $_ := set $storage "bucket" $s3.bucket }}
{{- $_ := set $storage "region" $s3.region }}
{{- $_ := set $storage "prefix" $s3.prefix }}
{{- $_ := set $storage "endpoint" $s3.endpoint }}
{{- $_ := set $storage "force_path_style" $s3.forcePathStyle }}
{{- $_ := set $storage "create_bucket" $s3.createBucket }}
{{- end }}
{{- $settings := dict "server" $server "storage" $storage "auth" (dict "allow_anonymous" $v.auth.allowAnonymous) }}
{{- range $section, $table := $v.config }}
{{- $merged := merge (dict) (get $settings $section | default dict) }}
{{- range $key, $value := $table }}
{{- $_ := set $merged $key $value }}
{{- end }}
{{- $_ := set $settings $section $merged }}
{{- end }}
{{- toYaml $settings }}
{{- end }}

{{/*
config.toml from the settings: one [section] per table, keys sorted. JSON
strings, numbers and booleans are TOML values as they are.
*/}}
{{- define "pulse-runtime.configToml" -}}
# config.toml of the PulseCheckpoint runtime, rendered by the pulse-runtime
# chart from its values. server.grpc_addr and server.metrics_addr are set
# in the environment (PULSE_GRPC_ADDR, PULSE_METRICS_ADDR), which the image
# sets too and which overrides this file; tokens, if any, come from a
# Secret as PULSE_AUTH_TOKENS.
{{- $settings := include "pulse-runtime.settings" . | fromYaml }}
{{- range $section, $table := $settings }}
{{- if $table }}

[{{ $section }}]
{{- range $key, $value := $table }}
{{ $key }} = {{ toJson $value }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
