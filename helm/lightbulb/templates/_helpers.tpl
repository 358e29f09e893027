{{- define "lightbulb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lightbulb.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lightbulb.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lightbulb.image" -}}
{{ .root.Values.image.registry }}/lightbulb-{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{- define "lightbulb.collectorSecret" -}}
{{- if .Values.tls.certManager.enabled -}}{{ include "lightbulb.fullname" . }}-collector-tls{{- else -}}{{ .Values.tls.existingSecrets.collector }}{{- end -}}
{{- end -}}

{{- define "lightbulb.agentSecret" -}}
{{- if .Values.tls.certManager.enabled -}}{{ include "lightbulb.fullname" . }}-agent-tls{{- else -}}{{ .Values.tls.existingSecrets.agent }}{{- end -}}
{{- end -}}

{{- define "lightbulb.serviceAccount" -}}
{{ include "lightbulb.fullname" . }}-agent
{{- end -}}

{{- define "lightbulb.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "lightbulb.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}
