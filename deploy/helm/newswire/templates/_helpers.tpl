{{/* Names, labels and settings shared by every template. */}}

{{- define "newswire.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name. Service names append "-<service>" (at most 9 characters),
so this stays within 54 to keep every object name a valid DNS label.
*/}}
{{- define "newswire.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "newswire.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "newswire.selectorLabels" -}}
app.kubernetes.io/name: {{ include "newswire.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "newswire.labels" -}}
helm.sh/chart: {{ include "newswire.chart" . }}
{{ include "newswire.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: newswire
{{- end }}

{{/* Per-service variants; call with (dict "root" $ "name" "fetcher"). */}}
{{- define "newswire.serviceFullname" -}}
{{- printf "%s-%s" (include "newswire.fullname" .root) .name }}
{{- end }}

{{- define "newswire.serviceSelectorLabels" -}}
{{ include "newswire.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "newswire.serviceLabels" -}}
{{ include "newswire.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "newswire.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "newswire.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "newswire.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "newswire.configName" -}}
{{- printf "%s-config" (include "newswire.fullname" .) }}
{{- end }}

{{- define "newswire.feedsName" -}}
{{- printf "%s-feeds" (include "newswire.fullname" .) }}
{{- end }}

{{- define "newswire.sasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{- define "newswire.tls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* The Secret holding the SASL password: the user's, or the one this chart creates. */}}
{{- define "newswire.saslSecretName" -}}
{{- default (printf "%s-kafka" (include "newswire.fullname" .)) .Values.kafka.sasl.existingSecret }}
{{- end }}

{{- define "newswire.saslSecretKey" -}}
{{- if .Values.kafka.sasl.existingSecret }}{{ .Values.kafka.sasl.existingSecretKey }}{{ else }}sasl-password{{ end }}
{{- end }}

{{- define "newswire.caDir" -}}/etc/newswire/kafka-ca{{- end }}
{{- define "newswire.feedsDir" -}}/etc/newswire/feeds{{- end }}

{{/* Settings that cannot work together fail the render instead of the pods. */}}
{{- define "newswire.validate" -}}
{{- $kafka := .Values.kafka }}
{{- if not $kafka.bootstrap }}
{{- fail "kafka.bootstrap is required (e.g. kafka:9092)" }}
{{- end }}
{{- if include "newswire.sasl" . }}
{{- if not (and $kafka.sasl.mechanism $kafka.sasl.username) }}
{{- fail (printf "kafka.securityProtocol %s needs kafka.sasl.mechanism and kafka.sasl.username" $kafka.securityProtocol) }}
{{- end }}
{{- if not (or $kafka.sasl.password $kafka.sasl.existingSecret) }}
{{- fail "SASL needs kafka.sasl.password or kafka.sasl.existingSecret" }}
{{- end }}
{{- end }}
{{- if and $kafka.tls.caSecret (not (include "newswire.tls" .)) }}
{{- fail "kafka.tls.caSecret is set but kafka.securityProtocol is neither SSL nor SASL_SSL" }}
{{- end }}
{{- /* After the grace, the final commit, the producer's flush and the group leave need
     time too: a SIGKILL during them means the work finished is redone. */}}
{{- $margin := 15 }}
{{- if lt (float64 .Values.terminationGracePeriodSeconds) (addf .Values.stopGraceSeconds $margin) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least stopGraceSeconds (%v) + %d" .Values.terminationGracePeriodSeconds .Values.stopGraceSeconds $margin) }}
{{- end }}
{{- range $name, $svc := .Values.services }}
{{- range $key := list "NEWSWIRE_METRICS_TOKEN" "NEWSWIRE_KAFKA_SASL_PASSWORD" "NEWSWIRE_STOP_GRACE_SECONDS" }}
{{- if hasKey ($svc.env | default dict) $key }}
{{- fail (printf "services.%s.env.%s is set by the chart from metrics.tokenSecret, kafka.sasl or stopGraceSeconds: set it there" $name $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
