{{/*
Shared pieces of the Samling chart. Every workload (a gRPC service, the
gateway, Redis, the jobs) is named <namePrefix><component> and labelled with
its component, so NetworkPolicies and the national gateway address it by name.
*/}}

{{- define "samling.name" -}}
{{- printf "%s%s" .root.Values.namePrefix .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "samling.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select a component's pods (stable across upgrades). */}}
{{- define "samling.selectorLabels" -}}
app.kubernetes.io/name: samling
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "samling.labels" -}}
{{ include "samling.selectorLabels" . }}
app.kubernetes.io/part-of: samling
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "samling.chart" .root }}
{{- with .root.Values.region }}
samling.example/region: {{ . }}
{{- end }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "samling.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{ .Values.serviceAccount.name }}
{{- else -}}
{{ include "samling.name" (dict "root" . "component" "samling") }}
{{- end -}}
{{- end -}}

{{- define "samling.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* True when at least one region service is enabled. */}}
{{- define "samling.anyService" -}}
{{- range $name, $svc := .Values.services }}{{ if $svc.enabled }}yes{{ end }}{{ end -}}
{{- end -}}

{{/* The release's region, required when it runs services. */}}
{{- define "samling.region" -}}
{{- if not .Values.region -}}
{{- fail "region is required when a service is enabled (use values-<region>.yaml)" -}}
{{- end -}}
{{- if not (has .Values.region .Values.regionOrder) -}}
{{- fail (printf "region %q is not in regionOrder %v" .Values.region .Values.regionOrder) -}}
{{- end -}}
{{ .Values.region }}
{{- end -}}

{{/*
listen.grpc_base_port such that this release's region listens on grpcPort:
the binary adds the region's index in the region map to the base port.
*/}}
{{- define "samling.grpcBasePort" -}}
{{- if .Values.region -}}
{{- $region := include "samling.region" . -}}
{{- $idx := 0 -}}
{{- range $i, $r := .Values.regionOrder }}{{ if eq $r $region }}{{ $idx = $i }}{{ end }}{{ end -}}
{{ sub (int .Values.grpcPort) $idx }}
{{- else -}}
{{ int .Values.grpcPort }}
{{- end -}}
{{- end -}}

{{/* A service's settings: serviceDefaults overridden by its own block. */}}
{{- define "samling.serviceSettings" -}}
{{- $svc := index .root.Values.services .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{- define "samling.cnpgClusterName" -}}
{{- .Values.postgresql.cnpg.clusterName | default (include "samling.name" (dict "root" . "component" "samling-pg")) -}}
{{- end -}}

{{/* The Secret (name, key) holding the database URL. */}}
{{- define "samling.databaseSecretRef" -}}
{{- if .Values.secrets.database.existingSecret -}}
name: {{ .Values.secrets.database.existingSecret }}
key: {{ .Values.secrets.database.key }}
{{- else if .Values.postgresql.cnpg.enabled -}}
name: {{ include "samling.cnpgClusterName" . }}-app
key: uri
{{- else -}}
{{- fail "secrets.database.existingSecret is required unless postgresql.cnpg.enabled" -}}
{{- end -}}
{{- end -}}

{{/* A TOML value: strings and lists as JSON (valid TOML), numbers as integers. */}}
{{- define "samling.tomlValue" -}}
{{- if kindIs "float64" . -}}
{{ int64 . }}
{{- else if or (kindIs "string" .) (kindIs "slice" .) -}}
{{ toJson . }}
{{- else -}}
{{ . }}
{{- end -}}
{{- end -}}

{{/*
A TOML table [<name>] from a values map: scalars and lists as keys (null and
"" left out: the binary's default), nested maps as [<name>.<key>] tables.
*/}}
{{- define "samling.tomlTable" -}}
{{- $name := .name -}}
[{{ $name }}]
{{- range $k, $v := .table }}
{{- if not (or (kindIs "map" $v) (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v ""))) }}
{{ $k }} = {{ include "samling.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $k, $v := .table }}
{{- if kindIs "map" $v }}

{{ include "samling.tomlTable" (dict "name" (printf "%s.%s" $name $k) "table" $v) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Where the chart mounts the key files of secrets.* (samling.toml names them). */}}
{{- define "samling.registryIdentityKeyFile" -}}
/etc/samling/registry-identity/registry-identity.key
{{- end -}}

{{- define "samling.recruitmentFormKeyFile" -}}
/etc/samling/recruitment-form/recruitment-form.key
{{- end -}}

{{- define "samling.portfolioCredentialKeyFile" -}}
/etc/samling/portfolio-credential/portfolio-credential.key
{{- end -}}

{{/*
samling.toml, read by services/kit/src/config.rs (unknown keys are errors).
Secrets reach the process as environment variables or mounted files only.
*/}}
{{- define "samling.config" -}}
{{- include "samling.configFor" (dict "root" . "jobs" false) -}}
{{- end -}}

{{/*
samling.toml for the migration hook and the audit check. `migrate` and `audit
verify` open every service's store, recruitment's and portfolio's included,
but issue no form tokens and sign no credentials: their copy names no
form_token_key_file and no credential_key_file, so each creates a throwaway
key in the job's scratch directory and the keys stay in their services' pods. Everything else is the services' file.
*/}}
{{- define "samling.jobConfig" -}}
{{- include "samling.configFor" (dict "root" . "jobs" true) -}}
{{- end -}}

{{- define "samling.configFor" -}}
{{- $jobs := .jobs -}}
{{- with .root -}}
{{- $c := .Values.config -}}
data_dir = "/var/lib/samling"
{{- with $c.regionMapFile }}
region_map_file = {{ toJson . }}
{{- end }}

[database]
schema_prefix = {{ toJson $c.database.schemaPrefix }}
max_connections = {{ int $c.database.maxConnections }}
probe_interval_secs = {{ int $c.database.probeIntervalSeconds }}

[listen]
host = "0.0.0.0"
drain_secs = {{ int $c.drainSeconds }}
grpc_base_port = {{ include "samling.grpcBasePort" . }}
http_addr = {{ printf "0.0.0.0:%d" (int .Values.gateway.httpPort) | toJson }}
{{- if .Values.secrets.grpcTls.existingSecret }}
health_addr = {{ printf "0.0.0.0:%d" (int .Values.grpcHealthPort) | toJson }}

[tls]
enabled = true
ca_file = "/etc/samling/tls/ca.crt"
cert_file = "/etc/samling/tls/tls.crt"
key_file = "/etc/samling/tls/tls.key"
{{- end }}

[auth]
context_key_file = "/etc/samling/keys/context-signing.key"
context_public_keys = {{ $c.auth.contextPublicKeys | default list | toJson }}

[audit]
chain_key_file = "/etc/samling/audit-key/audit-chain.key"
checkpoint_dir = "/var/lib/samling-checkpoints"
checkpoint_interval_secs = {{ int $c.audit.checkpointIntervalSecs }}

[telemetry]
log = {{ toJson $c.telemetry.log }}
log_format = {{ toJson $c.telemetry.logFormat }}
{{- with $c.telemetry.otlpEndpoint }}
otlp_endpoint = {{ toJson . }}
{{- end }}

{{- /* Key files are the chart's: named by secrets.*, never by config.* */}}
{{- if hasKey $c.registry "identity_key_file" }}
{{- fail "config.registry.identity_key_file: name the key's Secret in secrets.registryIdentityKey instead" }}
{{- end }}
{{- if hasKey $c.recruitment "form_token_key_file" }}
{{- fail "config.recruitment.form_token_key_file: name the key's Secret in secrets.recruitmentFormKey instead" }}
{{- end }}
{{- if hasKey $c.portfolio "credential_key_file" }}
{{- fail "config.portfolio.credential_key_file: name the key's Secret in secrets.portfolioCredentialKey instead" }}
{{- end }}
{{- $registry := deepCopy $c.registry }}
{{- if include "samling.registryIdentityKeySecret" . }}
{{- $_ := set $registry "identity_key_file" (include "samling.registryIdentityKeyFile" .) }}
{{- end }}
{{- $recruitment := deepCopy $c.recruitment }}
{{- if and (not $jobs) (include "samling.recruitmentFormKeySecret" .) }}
{{- $_ := set $recruitment "form_token_key_file" (include "samling.recruitmentFormKeyFile" .) }}
{{- end }}
{{- $portfolio := deepCopy $c.portfolio }}
{{- if and (not $jobs) (include "samling.portfolioCredentialKeySecret" .) }}
{{- $_ := set $portfolio "credential_key_file" (include "samling.portfolioCredentialKeyFile" .) }}
{{- end }}

{{ include "samling.tomlTable" (dict "name" "registry" "table" $registry) }}

{{ include "samling.tomlTable" (dict "name" "recruitment" "table" $recruitment) }}

{{ include "samling.tomlTable" (dict "name" "portfolio" "table" $portfolio) }}

{{ include "samling.tomlTable" (dict "name" "compensation" "table" $c.compensation) }}
{{- if .Values.gateway.enabled }}
{{- $jwt := .Values.gateway.jwt }}

[gateway]
{{- range $k, $v := .Values.gateway.config }}
{{ $k }} = {{ include "samling.tomlValue" $v }}
{{- end }}

[gateway.jwt]
issuer = {{ toJson $jwt.issuer }}
audience = {{ toJson $jwt.audience }}
{{- if and $jwt.existingSecret $jwt.jwksKey }}
jwks_file = {{ printf "/etc/samling/jwt/%s" $jwt.jwksKey | toJson }}
{{- end }}
{{- if and $jwt.existingSecret $jwt.publicKeyKeys }}
public_key_files = [{{ range $i, $k := $jwt.publicKeyKeys }}{{ if $i }}, {{ end }}{{ printf "/etc/samling/jwt/%s" $k | toJson }}{{ end }}]
{{- end }}
{{- with $jwt.oidcDiscoveryUrl }}
oidc_discovery_url = {{ toJson . }}
{{- end }}
{{- end }}
{{- /*
The gateway's regions, and where the services reach each other: recruitment
calls its region's registry at [regions.<region>] registry (else the
region's port on localhost, i.e. itself), so this is rendered whether or not
the release runs a gateway; and each service calls its peers in the other
regions (samling.peerEndpoints). The regional gateway serves its own region
only (`--regions <region>`), so the other regions' lines do not reach it.
*/}}
{{- $regions := merge (include "samling.gatewayEndpoints" . | fromYaml) (include "samling.peerEndpoints" . | fromYaml) }}
{{- range $region, $eps := $regions }}

[regions.{{ toJson $region }}]
{{- range $svc, $url := $eps }}
{{ $svc }} = {{ toJson $url }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The Secret holding the national identity key (ADR 0021), required whenever
region services run: the registry pods hash with it, and the migration hook
and the audit check open the registry too (which indexes identities under
the key it is given). Empty output: no region service, no key.
*/}}
{{- define "samling.registryIdentityKeySecret" -}}
{{- if include "samling.anyService" . -}}
{{ required "secrets.registryIdentityKey.existingSecret is required: the national identity key (docs/operations.md, openssl rand -hex 32, the same in every region)" .Values.secrets.registryIdentityKey.existingSecret }}
{{- end -}}
{{- end -}}

{{/* The Secret holding the public form's token key, required with recruitment. */}}
{{- define "samling.recruitmentFormKeySecret" -}}
{{- if .Values.services.recruitment.enabled -}}
{{ required "secrets.recruitmentFormKey.existingSecret is required with services.recruitment: the public form's token key (docs/operations.md, openssl rand -hex 32)" .Values.secrets.recruitmentFormKey.existingSecret }}
{{- end -}}
{{- end -}}

{{/* The Secret holding the portfolio's credential key, required with portfolio. */}}
{{- define "samling.portfolioCredentialKeySecret" -}}
{{- if .Values.services.portfolio.enabled -}}
{{ required "secrets.portfolioCredentialKey.existingSecret is required with services.portfolio: the prescription credentials' signing key (docs/operations.md, openssl rand -hex 32)" .Values.secrets.portfolioCredentialKey.existingSecret }}
{{- end -}}
{{- end -}}

{{/*
Key files a workload needs besides the common ones, by who opens what:
`registry` (the registry pods and the jobs) gets the identity key,
`recruitment` (its pods only) the form key, `portfolio` (its pods only) the
credential key. .root, .needs: a list of those.
*/}}
{{- define "samling.keyVolumes" -}}
{{- $root := .root -}}
{{- if has "registry" .needs }}
{{- with include "samling.registryIdentityKeySecret" $root }}
- name: registry-identity-key
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.secrets.registryIdentityKey.key }}
        path: registry-identity.key
{{- end }}
{{- end }}
{{- if has "recruitment" .needs }}
{{- with include "samling.recruitmentFormKeySecret" $root }}
- name: recruitment-form-key
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.secrets.recruitmentFormKey.key }}
        path: recruitment-form.key
{{- end }}
{{- end }}
{{- if has "portfolio" .needs }}
{{- with include "samling.portfolioCredentialKeySecret" $root }}
- name: portfolio-credential-key
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.secrets.portfolioCredentialKey.key }}
        path: portfolio-credential.key
{{- end }}
{{- end }}
{{- end -}}

{{- define "samling.keyMounts" -}}
{{- $root := .root -}}
{{- if and (has "registry" .needs) (include "samling.registryIdentityKeySecret" $root) }}
- name: registry-identity-key
  mountPath: {{ include "samling.registryIdentityKeyFile" $root | dir }}
  readOnly: true
{{- end }}
{{- if and (has "recruitment" .needs) (include "samling.recruitmentFormKeySecret" $root) }}
- name: recruitment-form-key
  mountPath: {{ include "samling.recruitmentFormKeyFile" $root | dir }}
  readOnly: true
{{- end }}
{{- if and (has "portfolio" .needs) (include "samling.portfolioCredentialKeySecret" $root) }}
- name: portfolio-credential-key
  mountPath: {{ include "samling.portfolioCredentialKeyFile" $root | dir }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The namespace of region .region's release (regionPeers.namespacePattern). */}}
{{- define "samling.regionNamespace" -}}
{{- printf .root.Values.regionPeers.namespacePattern .region -}}
{{- end -}}

{{/* The other regions' releases' namespaces this release's services call and admit. */}}
{{- define "samling.peerNamespaces" -}}
{{- $root := . -}}
{{- $out := list -}}
{{- if and .Values.region .Values.regionPeers.enabled (include "samling.anyService" .) -}}
{{- range $r := .Values.regionOrder }}{{ if ne $r $root.Values.region }}{{ $out = append $out (include "samling.regionNamespace" (dict "root" $root "region" $r)) }}{{ end }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Region → {service: URL} of every other region's release (regionPeers): the
registry calls the other registers (placements and duplicates across regions,
ADR 0021), recruitment the other regions' recruitment (a national ranking).
Each enabled service, at its Service in that region's namespace.
*/}}
{{- define "samling.peerEndpoints" -}}
{{- if and .Values.region .Values.regionPeers.enabled (include "samling.anyService" .) -}}
{{- $root := . -}}
{{- range $r := .Values.regionOrder }}
{{- if ne $r $root.Values.region }}
{{ $r }}:
{{- range $name, $svc := $root.Values.services }}
{{- if $svc.enabled }}
  {{ $name }}: {{ printf "http://%s.%s.svc.cluster.local:%d" (include "samling.name" (dict "root" $root "component" $name)) (include "samling.regionNamespace" (dict "root" $root "region" $r)) (int $root.Values.grpcPort) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Region → {service: URL} the gateway calls: configured, or this release's own. */}}
{{- define "samling.gatewayEndpoints" -}}
{{- if .Values.gateway.endpoints -}}
{{ toYaml .Values.gateway.endpoints }}
{{- else if .Values.region -}}
{{- $root := . -}}
{{ .Values.region }}:
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}
  {{ $name }}: {{ printf "http://%s:%d" (include "samling.name" (dict "root" $root "component" $name)) (int $root.Values.grpcPort) }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{- define "samling.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ int .Values.securityContext.runAsUser }}
runAsGroup: {{ int .Values.securityContext.runAsGroup }}
fsGroup: {{ int .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "samling.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ int .Values.securityContext.runAsUser }}
runAsGroup: {{ int .Values.securityContext.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment every Samling container gets. */}}
{{- define "samling.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=samling,samling.component=%s,samling.region=%s,k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME)" .component (.root.Values.region | default "national") | quote }}
{{- end -}}

{{/* The port the kubelet's gRPC probes use: plaintext health-only under mTLS. */}}
{{- define "samling.grpcProbePort" -}}
{{- if .Values.secrets.grpcTls.existingSecret -}}
{{ int .Values.grpcHealthPort }}
{{- else -}}
{{ int .Values.grpcPort }}
{{- end -}}
{{- end -}}

{{/* The database URL from its Secret. */}}
{{- define "samling.databaseEnv" -}}
- name: SAMLING_DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "samling.databaseSecretRef" . | nindent 6 }}
{{- $mode := include "samling.databaseSslMode" . }}
{{- with $mode }}
- name: PGSSLMODE
  value: {{ . | quote }}
{{- end }}
{{- if include "samling.databaseCaSecret" . }}
- name: PGSSLROOTCERT
  value: /etc/samling/db-ca/ca.crt
{{- end }}
{{- end -}}

{{/*
The Secret whose CA bundle PostgreSQL's certificate is checked against:
secrets.databaseTls.existingSecret, else the CloudNativePG operator's
<cluster>-ca when the chart runs the database; empty: none.
*/}}
{{- define "samling.databaseCaSecret" -}}
{{- if .Values.secrets.databaseTls.existingSecret -}}
{{ .Values.secrets.databaseTls.existingSecret }}
{{- else if .Values.postgresql.cnpg.enabled -}}
{{ include "samling.cnpgClusterName" . }}-ca
{{- end -}}
{{- end -}}

{{/* PGSSLMODE: as set, else verify-full when a CA is mounted, else none (the URL's own, or prefer). */}}
{{- define "samling.databaseSslMode" -}}
{{- $mode := .Values.secrets.databaseTls.sslMode -}}
{{- if and $mode (not (has $mode (list "disable" "prefer" "require" "verify-ca" "verify-full"))) -}}
{{- fail (printf "secrets.databaseTls.sslMode: %q is not one of disable, prefer, require, verify-ca, verify-full" $mode) -}}
{{- end -}}
{{- if $mode -}}
{{ $mode }}
{{- else if include "samling.databaseCaSecret" . -}}
verify-full
{{- end -}}
{{- end -}}

{{/* The database CA bundle's volume and mount (nothing without one). */}}
{{- define "samling.databaseCaVolumes" -}}
{{- with include "samling.databaseCaSecret" . }}
- name: db-ca
  secret:
    secretName: {{ . }}
    defaultMode: 0444
    items:
      - key: {{ if $.Values.secrets.databaseTls.existingSecret }}{{ $.Values.secrets.databaseTls.key }}{{ else }}ca.crt{{ end }}
        path: ca.crt
{{- end }}
{{- end -}}

{{- define "samling.databaseCaMounts" -}}
{{- if include "samling.databaseCaSecret" . }}
- name: db-ca
  mountPath: /etc/samling/db-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Writable scratch space: the root filesystem is read-only. */}}
{{- define "samling.scratchVolumes" -}}
- name: data
  emptyDir:
    sizeLimit: 256Mi
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "samling.scratchMounts" -}}
- name: data
  mountPath: /var/lib/samling
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Config, auth-context key and (optional) internal TLS. */}}
{{- define "samling.runtimeVolumes" -}}
- name: config
  configMap:
    name: {{ include "samling.name" (dict "root" . "component" "samling-config") }}
{{ include "samling.keyAndTlsVolumes" . }}
{{- end -}}

{{/*
The auth-context key and (optional) internal TLS: what opening a service's
store reads besides its database, so the jobs that open every store
(`migrate`, `audit verify`) mount them too. Recruitment's registry-feed
consumer loads the context key when opened, and the registry and
recruitment build their gRPC clients' TLS from [tls] then: a job without
them fails before migrating anything.
*/}}
{{- define "samling.keyAndTlsVolumes" -}}
- name: auth-context-key
  secret:
    secretName: {{ required "secrets.authContextKey.existingSecret is required" .Values.secrets.authContextKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.authContextKey.key }}
        path: context-signing.key
{{- with .Values.secrets.grpcTls.existingSecret }}
- name: grpc-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/*
The audit chain key (Secret) and the checkpoint directory (a shared claim),
for everything that opens a service's store: the services write checkpoints,
the migration hook and the audit check only read them.
*/}}
{{- define "samling.auditVolumes" -}}
- name: audit-chain-key
  secret:
    secretName: {{ required "secrets.auditChainKey.existingSecret is required" .Values.secrets.auditChainKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.auditChainKey.key }}
        path: audit-chain.key
- name: audit-checkpoints
  persistentVolumeClaim:
    claimName: {{ required "auditCheckpoints.existingClaim is required" .Values.auditCheckpoints.existingClaim }}
{{- end -}}

{{- define "samling.auditMounts" -}}
- name: audit-chain-key
  mountPath: /etc/samling/audit-key
  readOnly: true
- name: audit-checkpoints
  mountPath: /var/lib/samling-checkpoints
  {{- if .readOnly }}
  readOnly: true
  {{- end }}
{{- end -}}

{{- define "samling.runtimeMounts" -}}
- name: config
  mountPath: /etc/samling/config
  readOnly: true
{{ include "samling.keyAndTlsMounts" . }}
{{- end -}}

{{- define "samling.keyAndTlsMounts" -}}
- name: auth-context-key
  mountPath: /etc/samling/keys
  readOnly: true
{{- if .Values.secrets.grpcTls.existingSecret }}
- name: grpc-tls
  mountPath: /etc/samling/tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The non-secret environment (ConfigMap samling-env, inlined into hooks). */}}
{{- define "samling.envData" -}}
SAMLING_CONFIG: /etc/samling/config/samling.toml
SAMLING_DATA_DIR: /var/lib/samling
SAMLING_LISTEN_HOST: 0.0.0.0
SAMLING_LOG: {{ .Values.config.telemetry.log | quote }}
SAMLING_LOG_FORMAT: {{ .Values.config.telemetry.logFormat | quote }}
{{- with .Values.config.telemetry.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* A component's PodDisruptionBudget and (when enabled) HorizontalPodAutoscaler. */}}
{{- define "samling.pdbAndHpa" -}}
{{- $s := .settings }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "samling.name" . }}
  labels:
    {{- include "samling.labels" . | nindent 4 }}
spec:
  {{- if hasKey $s.pdb "minAvailable" }}
  minAvailable: {{ $s.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $s.pdb.maxUnavailable | default 1 }}
  {{- end }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "samling.selectorLabels" . | nindent 6 }}
{{- if $s.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "samling.name" . }}
  labels:
    {{- include "samling.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "samling.name" . }}
  minReplicas: {{ int $s.autoscaling.minReplicas }}
  maxReplicas: {{ int $s.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int $s.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end }}
{{- end -}}

{{/* Egress every Samling pod needs: DNS, the OTLP collector, extras. */}}
{{- define "samling.egress.common" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.dns.namespace }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- if .Values.config.telemetry.otlpEndpoint }}
- ports:
    - port: {{ int $np.otlp.port }}
      protocol: TCP
  {{- with $np.otlp.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Egress to PostgreSQL: the configured peers, or the in-chart cluster's pods. */}}
{{- define "samling.egress.postgresql" -}}
{{- $pg := .Values.networkPolicy.postgresql -}}
- ports:
    - port: {{ int $pg.port }}
      protocol: TCP
  {{- if or $pg.to .Values.postgresql.cnpg.enabled }}
  to:
    {{- with $pg.to }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- if .Values.postgresql.cnpg.enabled }}
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "samling.cnpgClusterName" . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Egress to this release's services (consumers of each other's event feeds). */}}
{{- define "samling.egress.siblings" -}}
{{- if .services -}}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: samling
          app.kubernetes.io/instance: {{ .root.Release.Name }}
        matchExpressions:
          - key: app.kubernetes.io/component
            operator: In
            values: {{ toJson .services }}
  ports:
    - port: {{ int .root.Values.grpcPort }}
      protocol: TCP
{{- end -}}
{{- end -}}
