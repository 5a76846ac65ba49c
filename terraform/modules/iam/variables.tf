variable "name" {
  description = "Name prefix of the roles"
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the checkpoint bucket; the task role reaches no other bucket"
  type        = string
}

variable "key_prefix" {
  description = "Key prefix the runtime uses in the bucket (storage.prefix, e.g. \"team-a/\"); empty for the whole bucket"
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([A-Za-z0-9._-]+/)*$", var.key_prefix))
    error_message = "key_prefix must be empty or path segments of [A-Za-z0-9._-] each ending in '/', as storage.prefix."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the bucket (SSE-KMS); null for SSE-S3"
  type        = string
  default     = null
}

variable "log_group_name" {
  description = "CloudWatch Logs group the runtime's containers write to"
  type        = string
}

variable "ecr_repository_arns" {
  description = "ECR repositories the runtime image is pulled from; empty when the image is public"
  type        = list(string)
  default     = []
}

variable "auth_tokens_secret_arn" {
  description = "Secrets Manager secret holding the runtime's tokens (PULSE_AUTH_TOKENS) that the execution role may read; null for none"
  type        = string
  default     = null
}

variable "auth_tokens_kms_key_arn" {
  description = "Customer-managed KMS key that encrypts that secret; null when it uses the account's aws/secretsmanager key"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}
