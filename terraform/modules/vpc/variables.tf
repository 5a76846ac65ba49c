variable "name" {
  description = "Name prefix of every resource of this VPC"
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC"
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be an IPv4 CIDR block, e.g. 10.40.0.0/16."
  }
}

variable "availability_zones" {
  description = "Availability zones; one public and one private subnet is made in each"
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones are needed."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets (NAT gateways), one per availability zone"
  type        = list(string)
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets (runtime tasks), one per availability zone"
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (zone-redundant)"
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs to CloudWatch Logs"
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs, in days"
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}
