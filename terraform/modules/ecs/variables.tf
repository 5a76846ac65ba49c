variable "name" {
  description = "Name of the cluster, service and task family"
  type        = string
}

variable "image" {
  description = "Runtime image, pinned by tag or digest (e.g. ghcr.io/your-org/pulsecheckpoint-runtime:v0.1.0)"
  type        = string
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU)"
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory in MiB"
  type        = number
  default     = 2048
}

variable "desired_count" {
  description = "Number of runtime tasks"
  type        = number
  default     = 1
}

variable "vpc_id" {
  description = "VPC of the service discovery namespace"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in"
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks"
  type        = list(string)
}

variable "task_role_arn" {
  description = "Role the runtime runs as (its S3 permissions)"
  type        = string
}

variable "execution_role_arn" {
  description = "Role ECS uses to pull the image and write logs"
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch Logs group of the containers (created here)"
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the runtime's logs, in days"
  type        = number
  default     = 30
}

variable "bucket_name" {
  description = "Checkpoint bucket (PULSE_S3_BUCKET)"
  type        = string
}

variable "key_prefix" {
  description = "Key prefix in the bucket (PULSE_S3_PREFIX)"
  type        = string
  default     = ""
}

variable "log_level" {
  description = "PULSE_LOG_LEVEL: trace, debug, info, warn or error"
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error."
  }
}

variable "extra_environment" {
  description = "More PULSE_* settings for the container, by environment variable name"
  type        = map(string)
  default     = {}
}

variable "grpc_port" {
  description = "Port of the gRPC API"
  type        = number
  default     = 50051
}

variable "metrics_port" {
  description = "Port of /metrics, /healthz and /readyz"
  type        = number
  default     = 9090
}

variable "service_discovery_namespace" {
  description = "Private DNS namespace; workers reach the runtime at runtime.<namespace>:<grpc_port>"
  type        = string
  default     = "pulse.internal"
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster"
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}
