{{/* Names, labels and the pieces every component's manifest shares. */}}

{{- define "rds-csi.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's prefix for every object: the release name, plus the chart name unless it holds it. */}}
{{- define "rds-csi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rds-csi.labels" -}}
app.kubernetes.io/name: {{ include "rds-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of one component's objects; call with (dict "root" $ "component" "controller"). */}}
{{- define "rds-csi.componentLabels" -}}
{{ include "rds-csi.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A workload and its pods also carry the version they run; only they, so that a new image of one
component changes that component's workload and nothing else. */}}
{{- define "rds-csi.workloadLabels" -}}
{{ include "rds-csi.componentLabels" . }}
app.kubernetes.io/version: {{ include "rds-csi.imageTag" (dict "root" .root "image" (index .root.Values .component).image) | quote }}
{{- end -}}

{{/* Selector labels never change across upgrades (a Deployment's selector is immutable). */}}
{{- define "rds-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rds-csi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rds-csi.imageTag" -}}
{{- .image.tag | default .root.Chart.AppVersion -}}
{{- end -}}

{{/* repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "rds-csi.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (include "rds-csi.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{- define "rds-csi.sidecarImage" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{- define "rds-csi.serviceAccountName" -}}
{{- printf "%s-%s" (include "rds-csi.fullname" .root) .component -}}
{{- end -}}

{{- define "rds-csi.credentialsSecretName" -}}
{{- .Values.rds.credentials.existingSecret | default (printf "%s-rds-credentials" (include "rds-csi.fullname" .)) -}}
{{- end -}}

{{- define "rds-csi.hostKeyConfigMapName" -}}
{{- printf "%s-rds-host-key" (include "rds-csi.fullname" .) -}}
{{- end -}}

{{/* Refuses, at install time, values the services would refuse at start-up anyway. */}}
{{- define "rds-csi.validate" -}}
{{- if or .Values.controller.enabled .Values.reconciler.enabled (and .Values.node.enabled .Values.node.selfcheck.enabled) -}}
{{- if not .Values.rds.address -}}
{{- fail "rds.address is required: the host name or IP address of the RDS's SSH service" -}}
{{- end -}}
{{- if not (or .Values.rds.hostKeyFingerprint .Values.rds.knownHosts .Values.rds.insecureSkipHostKeyCheck) -}}
{{- fail "rds.hostKeyFingerprint (or rds.knownHosts) is required: the RDS's SSH host key as `ssh-keygen -lf` prints it; set rds.insecureSkipHostKeyCheck=true only in a lab" -}}
{{- end -}}
{{- if not (or .Values.rds.credentials.existingSecret .Values.rds.credentials.privateKey) -}}
{{- fail "rds.credentials.existingSecret or rds.credentials.privateKey is required: the SSH private key the driver logs in with" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.topology.key (not .Values.topology.value) -}}
{{- fail "topology.value is required when topology.key is set" -}}
{{- end -}}
{{- end -}}

{{/* The RDS connection settings, as the flags of docs/configuration.md; controller and reconciler share them. */}}
{{- define "rds-csi.rdsArgs" -}}
- --rds-address={{ .Values.rds.address }}
- --rds-ssh-port={{ .Values.rds.sshPort }}
- --rds-user={{ .Values.rds.user }}
- --rds-private-key-file=/etc/rds-csi/credentials/{{ .Values.rds.credentials.privateKeyKey }}
{{- if or .Values.rds.credentials.passphraseKey .Values.rds.credentials.privateKeyPassphrase }}
- --rds-private-key-passphrase-file=/etc/rds-csi/credentials/{{ .Values.rds.credentials.passphraseKey | default "passphrase" }}
{{- end }}
{{- if .Values.rds.hostKeyFingerprint }}
- --rds-host-key-fingerprint={{ .Values.rds.hostKeyFingerprint }}
{{- else if .Values.rds.knownHosts }}
- --rds-known-hosts-file=/etc/rds-csi/host-key/known_hosts
{{- else }}
- --rds-insecure-skip-host-key-check=true
{{- end }}
{{- end -}}

{{/* The same RDS settings as variables, for the node plugin's self-check (docs/selfcheck.md). */}}
{{- define "rds-csi.rdsEnv" -}}
- {name: RDS_ADDRESS, value: {{ .Values.rds.address | quote }}}
- {name: RDS_SSH_PORT, value: {{ .Values.rds.sshPort | quote }}}
- {name: RDS_USER, value: {{ .Values.rds.user | quote }}}
- {name: RDS_PRIVATE_KEY_FILE, value: {{ printf "/etc/rds-csi/credentials/%s" .Values.rds.credentials.privateKeyKey | quote }}}
{{- if or .Values.rds.credentials.passphraseKey .Values.rds.credentials.privateKeyPassphrase }}
- {name: RDS_PRIVATE_KEY_PASSPHRASE_FILE, value: {{ printf "/etc/rds-csi/credentials/%s" (.Values.rds.credentials.passphraseKey | default "passphrase") | quote }}}
{{- end }}
{{- if .Values.rds.hostKeyFingerprint }}
- {name: RDS_HOST_KEY_FINGERPRINT, value: {{ .Values.rds.hostKeyFingerprint | quote }}}
{{- else if .Values.rds.knownHosts }}
- {name: RDS_KNOWN_HOSTS_FILE, value: /etc/rds-csi/host-key/known_hosts}
{{- else }}
- {name: RDS_INSECURE_SKIP_HOST_KEY_CHECK, value: "true"}
{{- end }}
- {name: RDS_BASE_PATH, value: {{ .Values.rds.basePath | quote }}}
- {name: NQN_PREFIX, value: {{ .Values.rds.nqnPrefix | quote }}}
- {name: NVME_PORT, value: {{ .Values.rds.nvmePort | quote }}}
{{- with .Values.rds.nvmeAddress }}
- {name: NVME_ADDRESS, value: {{ . | quote }}}
{{- end }}
{{- end -}}

{{- define "rds-csi.rdsVolumeMounts" -}}
- name: rds-credentials
  mountPath: /etc/rds-csi/credentials
  readOnly: true
{{- if and .Values.rds.knownHosts (not .Values.rds.hostKeyFingerprint) }}
- name: rds-host-key
  mountPath: /etc/rds-csi/host-key
  readOnly: true
{{- end }}
{{- end -}}

{{- define "rds-csi.rdsVolumes" -}}
- name: rds-credentials
  secret:
    secretName: {{ include "rds-csi.credentialsSecretName" . }}
    defaultMode: 0400
{{- if and .Values.rds.knownHosts (not .Values.rds.hostKeyFingerprint) }}
- name: rds-host-key
  configMap:
    name: {{ include "rds-csi.hostKeyConfigMapName" . }}
{{- end }}
{{- end -}}

{{/* A sidecar container; call with (dict "name" "csi-attacher" "sidecar" .Values.sidecars.attacher "args" (list ...)). */}}
{{- define "rds-csi.sidecar" -}}
- name: {{ .name }}
  image: {{ include "rds-csi.sidecarImage" .sidecar.image }}
  imagePullPolicy: {{ .sidecar.image.pullPolicy }}
  args:
    {{- range .args }}
    - {{ . }}
    {{- end }}
    {{- range .sidecar.extraArgs }}
    - {{ . }}
    {{- end }}
  {{- with .env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    {{- toYaml .mounts | nindent 4 }}
  resources:
    {{- toYaml .sidecar.resources | nindent 4 }}
  securityContext:
    {{- toYaml (.securityContext | default (dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL")))) | nindent 4 }}
{{- end -}}

{{/* Scheduling fields a component's pod spec shares. */}}
{{- define "rds-csi.podScheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ .terminationGracePeriodSeconds }}
{{- end -}}
